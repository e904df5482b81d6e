// Observer: how a running stage reports progress, metrics, samples and log lines to the CLI or
// the GUI. Called on the worker thread; implementations must be thread-safe and cheap.
#pragma once

#include <atomic>
#include <string>
#include <utility>
#include <vector>

namespace recalign::core {

enum class LogLevel { Debug, Info, Warning, Error };

// One training/eval step of one stage. Metric names follow TRL where they exist
// ("loss", "learning_rate", "grad_norm", "objective/kl", "ppo/policy/clipfrac", ...).
struct StepRecord {
    std::string stage;   // e.g. "teacher", "sft_v2", "ppo_full"
    long step = 0;       // 1-based step within the stage
    long total_steps = 0;  // 0 = unknown
    double epoch = 0.0;
    double wall_time = 0.0;  // seconds since the Unix epoch
    std::vector<std::pair<std::string, double>> metrics;
};

// A generated sample with its judgement, for the inspector (JSON-encoded details).
struct SampleRecord {
    std::string stage;
    std::string variant;
    std::string task;
    long step = 0;
    std::string prompt;
    std::string output;
    std::string details_json;  // parsed items, legality, ranks, rewards
};

class Observer {
public:
    virtual ~Observer() = default;
    virtual void onStageBegin(const std::string& /*stage*/, long /*total_steps*/) {}
    virtual void onStageEnd(const std::string& /*stage*/) {}
    virtual void onStep(const StepRecord& /*record*/) {}
    virtual void onSample(const SampleRecord& /*sample*/) {}
    virtual void onLog(LogLevel /*level*/, const std::string& /*text*/) {}
    // A trainer is about to commit a resumable checkpoint after `step`: what was reported so far
    // must be made durable now (the run store flushes), so a run resumed from that checkpoint
    // misses no step.
    virtual void onCheckpoint(const std::string& /*stage*/, long /*step*/) {}
    // Polled between steps; returning true makes the stage stop with ErrorCode::Cancelled.
    virtual bool stopRequested() const { return false; }
};

// An observer that ignores everything (default argument for trainers).
class NullObserver : public Observer {};

// Forwards to several observers (a chain is itself an observer).
class ObserverChain : public Observer {
public:
    void add(Observer* o) { m_observers.push_back(o); }
    void onStageBegin(const std::string& s, long n) override { for (auto* o : m_observers) o->onStageBegin(s, n); }
    void onStageEnd(const std::string& s) override { for (auto* o : m_observers) o->onStageEnd(s); }
    void onStep(const StepRecord& r) override { for (auto* o : m_observers) o->onStep(r); }
    void onSample(const SampleRecord& r) override { for (auto* o : m_observers) o->onSample(r); }
    void onLog(LogLevel l, const std::string& t) override { for (auto* o : m_observers) o->onLog(l, t); }
    void onCheckpoint(const std::string& s, long n) override { for (auto* o : m_observers) o->onCheckpoint(s, n); }
    bool stopRequested() const override
    {
        for (auto* o : m_observers)
            if (o->stopRequested())
                return true;
        return false;
    }

private:
    std::vector<Observer*> m_observers;
};

// A stop flag usable from another thread (the GUI sets it; the trainer polls it).
class StopFlag {
public:
    void request() { m_stop.store(true); }
    void reset() { m_stop.store(false); }
    bool requested() const { return m_stop.load(); }

private:
    std::atomic<bool> m_stop{false};
};

}  // namespace recalign::core
