// StoreObserver: an Observer that records a run into the RunStore (step metrics in batched
// transactions, samples, a heartbeat) and forwards everything to the caller's observer.
// Thread-compatible: called from the one worker thread that runs the experiment.
#pragma once

#include "core/api/observer.h"
#include "core/api/store_api.h"

#include <chrono>
#include <string>
#include <vector>

namespace recalign::core {

class StoreObserver : public Observer {
public:
    StoreObserver(RunStore& store, int64_t runId, Observer& forward);
    ~StoreObserver() override;

    void onStageBegin(const std::string& stage, long totalSteps) override;
    void onStageEnd(const std::string& stage) override;
    void onStep(const StepRecord& record) override;
    void onSample(const SampleRecord& sample) override;
    void onLog(LogLevel level, const std::string& text) override;
    void onCheckpoint(const std::string& stage, long step) override;  // flushes, then forwards
    bool stopRequested() const override { return m_forward.stopRequested(); }

    // Writes buffered metrics and samples now (also done every kFlushSeconds and on stage end).
    void flush();
    // Sets the variant recorded with samples that do not name one.
    void setVariant(const std::string& variant) { m_variant = variant; }

    static constexpr double kFlushSeconds = 2.0;
    static constexpr size_t kMaxBuffered = 4096;

private:
    void maybeFlush();
    RunStore& m_store;
    int64_t m_runId;
    Observer& m_forward;
    std::vector<StepRecord> m_steps;
    std::vector<SampleRecord> m_samples;
    std::string m_variant;
    std::chrono::steady_clock::time_point m_lastFlush;
    bool m_warned = false;
};

}  // namespace recalign::core
