// StoreObserver implementation. A store failure never stops the run: it is reported once as a
// warning through the forwarded observer.
#include "core/pipeline/store_observer.h"

namespace recalign::core {

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
