// StoreObserver implementation. A store failure never stops the run: it is reported once as a
// warning through the forwarded observer.
#include "core/pipeline/store_observer.h"

#include <atomic>
#include <cstdlib>
#include <string>
#include <thread>

namespace recalign::core {

namespace {

// RECALIGN_PAUSE_AT=STAGE:STEP (a hook for GUI tests on slow machines): the first step record of
// STAGE at or past STEP in this process holds the run there, its points flushed to the store and
// forwarded, until the run is asked to stop (or 10 minutes pass). Once per process, so a resumed
// run goes through. Deterministic where sleeping is not: the test sees the live points, then
// cancels, without racing the trainer to the end of the stage.
std::atomic<bool> g_pausedOnce{false};

bool pauseHere(const StepRecord& record)
{
    const char* spec = std::getenv("RECALIGN_PAUSE_AT");
    if (!spec || !*spec || g_pausedOnce.load())
        return false;
    const std::string text(spec);
    const size_t colon = text.rfind(':');
    if (colon == std::string::npos || text.substr(0, colon) != record.stage)
        return false;
    const long step = std::strtol(text.c_str() + colon + 1, nullptr, 10);
    return record.step >= step && !g_pausedOnce.exchange(true);
}

}  // namespace

StoreObserver::StoreObserver(RunStore& store, int64_t runId, Observer& forward)
    : m_store(store), m_runId(runId), m_forward(forward), m_lastFlush(std::chrono::steady_clock::now())
{
}

StoreObserver::~StoreObserver() { flush(); }

void StoreObserver::onStageBegin(const std::string& stage, long totalSteps)
{
    m_forward.onStageBegin(stage, totalSteps);
}

void StoreObserver::onStageEnd(const std::string& stage)
{
    flush();
    m_forward.onStageEnd(stage);
}

void StoreObserver::onStep(const StepRecord& record)
{
    m_steps.push_back(record);
    m_forward.onStep(record);
    maybeFlush();
    if (pauseHere(record)) {
        flush();
        m_forward.onLog(LogLevel::Info, "paused at " + record.stage + " step " + std::to_string(record.step)
                                            + " (RECALIGN_PAUSE_AT) until the run is cancelled");
        for (int waited = 0; waited < 60000 && !m_forward.stopRequested(); ++waited)
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
}

void StoreObserver::onSample(const SampleRecord& sample)
{
    m_samples.push_back(sample);
    if (m_samples.back().variant.empty())
        m_samples.back().variant = m_variant;
    m_forward.onSample(m_samples.back());
    maybeFlush();
}

void StoreObserver::onLog(LogLevel level, const std::string& text) { m_forward.onLog(level, text); }

void StoreObserver::onCheckpoint(const std::string& stage, long step)
{
    flush();  // before the checkpoint exists: a resume from it re-records nothing it lacks
    m_forward.onCheckpoint(stage, step);
}

void StoreObserver::maybeFlush()
{
    const double since = std::chrono::duration<double>(std::chrono::steady_clock::now() - m_lastFlush).count();
    if (since >= kFlushSeconds || m_steps.size() + m_samples.size() >= kMaxBuffered)
        flush();
}

void StoreObserver::flush()
{
    m_lastFlush = std::chrono::steady_clock::now();
    Error err;
    if (!m_steps.empty())
        err = m_store.appendSteps(m_runId, m_steps);
    if (!err && !m_samples.empty())
        err = m_store.addSamples(m_runId, m_samples);
    if (!err)
        err = m_store.heartbeat(m_runId);
    m_steps.clear();
    m_samples.clear();
    if (err && !m_warned) {
        m_warned = true;
        m_forward.onLog(LogLevel::Warning, "run store: " + err.toString() + " (the run continues)");
    }
}

}  // namespace recalign::core
