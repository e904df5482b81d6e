// The shared optimizer-step helper.
#include "core/train/train_state.h"

#include "core/dist/dist.h"

#include "core/api/error.h"
#include "core/llm/llama_config.h"
#include "core/llm/llama_model.h"
#include "core/runtime/optimizer.h"

#include <filesystem>

#include <chrono>
#include <cmath>

namespace recalign::core {

// ---- TrainLoop ---------------------------------------------------------------------------------

TrainLoop::TrainLoop(TrainLoopConfig config, Observer& observer, torch::optim::Optimizer& optimizer,
                     std::vector<torch::Tensor> params)
    : m_config(std::move(config)), m_observer(observer), m_optimizer(optimizer),
      m_params(std::move(params))
{
}

void TrainLoop::checkCancel() const
{
    if (m_observer.stopRequested())
        throw CoreException(ErrorCode::Cancelled,
                            m_config.stage + ": stopped by the user after step " + std::to_string(m_step),
                            m_config.stage);
}

void TrainLoop::diverged(const std::string& what, double value) const
{
    const std::string where = m_stepLabel.empty() ? "step " + std::to_string(m_step + 1) : m_stepLabel;
    std::string msg = m_config.stage + ": " + what + " is " + std::to_string(value) + " at " + where
        + "; training stopped";
    if (!m_lastCheckpoint.empty())
        msg += "; the last good checkpoint, '" + m_lastCheckpoint + "', is intact";
    msg += " (lower the learning rate, or set the non-finite policy to skip the batch)";
    throw CoreException(ErrorCode::Diverged, msg, m_config.stage);
}

bool TrainLoop::acceptLoss(double loss)
{
    if (std::isfinite(loss))
        return true;
    if (m_config.on_non_finite == NonFinitePolicy::Stop)
        diverged("the loss", loss);
    ++m_skipped;
    zeroGrad();
    m_observer.onLog(LogLevel::Warning, m_config.stage + ": non-finite loss at step "
                                            + std::to_string(m_step + 1) + "; batch skipped");
    return false;
}

void TrainLoop::requireFiniteParameters(const std::vector<std::pair<std::string, torch::Tensor>>& named) const
{
    torch::NoGradGuard noGrad;
    for (const auto& [name, t] : named) {
        if (!torch::isfinite(t).all().item<bool>()) {
            const std::string where = m_stepLabel.empty() ? "step " + std::to_string(m_step) : m_stepLabel;
            std::string msg = m_config.stage + ": parameter '" + name + "' is not finite after " + where
                + "; training stopped";
            if (!m_lastCheckpoint.empty())
                msg += "; the last good checkpoint, '" + m_lastCheckpoint + "', is intact";
            throw CoreException(ErrorCode::Diverged, msg, m_config.stage);
        }
    }
}

void TrainLoop::zeroGrad()
{
    for (auto& p : m_params)
        if (p.grad().defined())
            p.mutable_grad().zero_();
}

TrainLoop::StepResult TrainLoop::optimizerStep(long scheduleIndex)
{
    StepResult r;
    r.learning_rate = m_config.schedule.lrAt(scheduleIndex >= 0 ? scheduleIndex : m_step);
    r.grad_norm = clipGradNorm(m_params, m_config.max_grad_norm);
    if (!std::isfinite(r.grad_norm)) {
        if (m_config.on_non_finite == NonFinitePolicy::Stop)
            diverged("the gradient norm", r.grad_norm);
        ++m_skipped;
        zeroGrad();
        m_observer.onLog(LogLevel::Warning, m_config.stage + ": non-finite gradient at step "
                                                + std::to_string(m_step + 1) + "; batch skipped");
        return r;
    }
    setLearningRate(m_optimizer, r.learning_rate);
    stepOptimizer(m_optimizer);
    zeroGrad();
    ++m_step;
    r.applied = true;
    return r;
}

void TrainLoop::reduceGradients(std::vector<double>& stats)
{
    if (!m_config.data_parallel || !dist::active())
        return;
    std::vector<torch::Tensor> buffers;
    for (auto& p : m_params) {
        if (!p.grad().defined())
            p.mutable_grad() = torch::zeros_like(p);
        buffers.push_back(p.grad());
    }
    auto statsTensor = torch::tensor(std::vector<float>(stats.begin(), stats.end()), torch::kFloat);
    buffers.push_back(statsTensor);
    dist::allreduceSum(buffers);
    auto acc = buffers.back().accessor<float, 1>();
    for (size_t i = 0; i < stats.size(); ++i)
        stats[i] = acc[static_cast<int64_t>(i)];
}

void TrainLoop::emit(long step, long totalSteps, double epoch,
                     std::vector<std::pair<std::string, double>> metrics) const
{
    StepRecord rec;
    rec.stage = m_config.stage;
    rec.step = step;
    rec.total_steps = totalSteps;
    rec.epoch = epoch;
    rec.wall_time = std::chrono::duration<double>(
                        std::chrono::system_clock::now().time_since_epoch())
                        .count();
    rec.metrics = std::move(metrics);
    m_observer.onStep(rec);
}

void putAdapterDescription(StateWriter& w, const std::string& namePrefix, const llm::LoraSpec& spec, long step)
{
    w.putString("adapter/prefix", namePrefix);
    w.putString("adapter/peft_config", llm::loraSpecToPeftJson(spec));
    w.putInt("adapter/step", step);
}

bool describesAdapter(const std::string& path, long* step)
{
    std::error_code ec;
    if (!std::filesystem::is_regular_file(path, ec))
        return false;
    try {
        const StateReader r(path);
        if (!r.has("adapter/peft_config"))
            return false;
        if (step)
            *step = static_cast<long>(r.getInt("adapter/step"));
        return true;
    } catch (const std::exception&) {
        return false;
    }
}

void importStateAdapter(llm::LlamaModelImpl& model, const std::string& path, const std::string& name)
{
    const StateReader r(path);
    if (!r.has("adapter/peft_config"))
        throw CoreException(ErrorCode::CheckpointIO,
                            "checkpoint '" + path + "' describes no LoRA adapter (a full fine-tuning state, or one "
                                "written before checkpoints described their adapter): probe the stage's output folder",
                            path);
    const std::string prefix = r.getString("adapter/prefix");
    const llm::LoraSpec spec = llm::loraSpecFromPeftJson(r.getString("adapter/peft_config"), path);
    std::vector<std::pair<std::string, torch::Tensor>> stored;
    for (auto& [n, t] : r.getNamedTensors("params")) {
        if (n.rfind("lm_head/", 0) == 0)
            throw CoreException(ErrorCode::CheckpointIO,
                                "checkpoint '" + path + "' also trained the LM head: probe the stage's exported actor folder",
                                path);
        if (n.compare(0, prefix.size(), prefix) == 0)
            stored.emplace_back(n.substr(prefix.size()), t);
    }
    model.addAdapter(name, spec);
    try {
        torch::NoGradGuard noGrad;
        copyNamedTensors(stored, model.namedAdapterParameters(name), "checkpoint '" + path + "' (adapter)");
    } catch (...) {
        model.removeAdapter(name);
        throw;
    }
}

}  // namespace recalign::core
