// Checkpoint files (torch archives written atomically) and the shared optimizer-step helper.
#include "core/train/train_state.h"

#include "core/api/error.h"
#include "core/util/files.h"

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/core/Generator.h>
#include <torch/serialize.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <mutex>

namespace recalign::core {

namespace train_state_detail {

std::string joinNames(const std::vector<std::pair<std::string, torch::Tensor>>& tensors)
{
    std::string out;
    for (const auto& [name, t] : tensors) {
        out += name;
        out += '\n';
    }
    return out;
}

std::vector<std::string> splitNames(const std::string& text)
{
    std::vector<std::string> names;
    std::string cur;
    for (char c : text) {
        if (c == '\n') {
            names.push_back(cur);
            cur.clear();
        } else {
            cur += c;
        }
    }
    return names;
}

std::vector<std::pair<std::string, torch::Tensor>> moduleTensors(const torch::nn::Module& module)
{
    std::vector<std::pair<std::string, torch::Tensor>> out;
    for (const auto& item : module.named_parameters(/*recurse=*/true))
        out.emplace_back(item.key(), item.value());
    for (const auto& item : module.named_buffers(/*recurse=*/true))
        out.emplace_back("buffer:" + item.key(), item.value());
    return out;
}

}  // namespace train_state_detail

// ---- StateWriter -------------------------------------------------------------------------------

StateWriter::StateWriter() = default;

void StateWriter::putTensor(const std::string& key, const torch::Tensor& value)
{
    m_archive.write(key, value.detach().to(torch::kCPU).clone(), /*is_buffer=*/true);
}

void StateWriter::putInt(const std::string& key, int64_t value)
{
    m_archive.write(key, c10::IValue(value));
}

void StateWriter::putDouble(const std::string& key, double value)
{
    m_archive.write(key, c10::IValue(value));
}

void StateWriter::putString(const std::string& key, const std::string& value)
{
    m_archive.write(key, c10::IValue(value));
}

void StateWriter::putNamedTensors(const std::string& prefix,
                                  const std::vector<std::pair<std::string, torch::Tensor>>& tensors)
{
    putString(prefix + "/names", train_state_detail::joinNames(tensors));
    for (size_t i = 0; i < tensors.size(); ++i)
        putTensor(prefix + "/t" + std::to_string(i), tensors[i].second);
}

void StateWriter::putModule(const std::string& prefix, const torch::nn::Module& module)
{
    putNamedTensors(prefix, train_state_detail::moduleTensors(module));
}

void StateWriter::putOptimizer(const std::string& key, const torch::optim::Optimizer& optimizer)
{
    torch::serialize::OutputArchive nested(m_archive.compilation_unit());
    optimizer.save(nested);
    m_archive.write(key, nested);
}

void StateWriter::putTorchRng(const std::string& key)
{
    auto gen = at::detail::getDefaultCPUGenerator();
    torch::Tensor state;
    {
        std::lock_guard<std::mutex> lock(gen.mutex());
        state = gen.get_state();
    }
    putTensor(key, state);
}

void StateWriter::commit(const std::string& path)
{
    replaceFileAtomic(path, [&](const std::string& tmp) { m_archive.save_to(tmp); }, ErrorCode::CheckpointIO);
}

// ---- StateReader -------------------------------------------------------------------------------

StateReader::StateReader(const std::string& path) : m_path(path)
{
    try {
        m_archive.load_from(path);
    } catch (const std::exception& e) {
        throw CoreException(ErrorCode::CheckpointIO,
                            "reading checkpoint '" + path + "': " + e.what(), path);
    }
}

void StateReader::missing(const std::string& key) const
{
    throw CoreException(ErrorCode::CheckpointIO,
                        "checkpoint '" + m_path + "' has no entry '" + key + "'", m_path);
}

bool StateReader::has(const std::string& key)
{
    c10::IValue v;
    return m_archive.try_read(key, v);
}

torch::Tensor StateReader::getTensor(const std::string& key)
{
    torch::Tensor t;
    if (!m_archive.try_read(key, t, /*is_buffer=*/true))
        missing(key);
    return t;
}

int64_t StateReader::getInt(const std::string& key)
{
    c10::IValue v;
    if (!m_archive.try_read(key, v) || !v.isInt())
        missing(key);
    return v.toInt();
}

double StateReader::getDouble(const std::string& key)
{
    c10::IValue v;
    if (!m_archive.try_read(key, v) || !(v.isDouble() || v.isInt()))
        missing(key);
    return v.isDouble() ? v.toDouble() : static_cast<double>(v.toInt());
}

std::string StateReader::getString(const std::string& key)
{
    c10::IValue v;
    if (!m_archive.try_read(key, v) || !v.isString())
        missing(key);
    return v.toStringRef();
}

std::vector<std::pair<std::string, torch::Tensor>> StateReader::getNamedTensors(const std::string& prefix)
{
    const auto names = train_state_detail::splitNames(getString(prefix + "/names"));
    std::vector<std::pair<std::string, torch::Tensor>> out;
    out.reserve(names.size());
    for (size_t i = 0; i < names.size(); ++i)
        out.emplace_back(names[i], getTensor(prefix + "/t" + std::to_string(i)));
    return out;
}

void StateReader::loadModule(const std::string& prefix, torch::nn::Module& module)
{
    copyNamedTensors(getNamedTensors(prefix), train_state_detail::moduleTensors(module),
                     "checkpoint '" + m_path + "' (" + prefix + ")");
}

void StateReader::loadOptimizer(const std::string& key, torch::optim::Optimizer& optimizer)
{
    torch::serialize::InputArchive nested;
    if (!m_archive.try_read(key, nested))
        missing(key);
    try {
        optimizer.load(nested);
    } catch (const std::exception& e) {
        throw CoreException(ErrorCode::CheckpointIO,
                            "checkpoint '" + m_path + "': optimizer state '" + key
                                + "' does not fit this model: " + e.what(),
                            m_path);
    }
}

void StateReader::loadTorchRng(const std::string& key)
{
    const auto state = getTensor(key);
    auto gen = at::detail::getDefaultCPUGenerator();
    std::lock_guard<std::mutex> lock(gen.mutex());
    gen.set_state(state);
}

void copyNamedTensors(const std::vector<std::pair<std::string, torch::Tensor>>& source,
                      const std::vector<std::pair<std::string, torch::Tensor>>& target,
                      const std::string& what)
{
    if (source.size() != target.size())
        throw CoreException(ErrorCode::CheckpointIO,
                            what + ": " + std::to_string(source.size()) + " tensors stored, "
                                + std::to_string(target.size()) + " expected");
    torch::NoGradGuard noGrad;
    for (size_t i = 0; i < source.size(); ++i) {
        // Same order on both sides in practice; fall back to a search by name.
        const std::pair<std::string, torch::Tensor>* src = nullptr;
        if (source[i].first == target[i].first) {
            src = &source[i];
        } else {
            for (const auto& s : source)
                if (s.first == target[i].first)
                    src = &s;
        }
        if (!src)
            throw CoreException(ErrorCode::CheckpointIO,
                                what + ": no stored tensor named '" + target[i].first + "'");
        if (src->second.sizes() != target[i].second.sizes())
            throw CoreException(ErrorCode::CheckpointIO,
                                what + ": '" + target[i].first + "' has a different shape");
        auto dst = target[i].second;
        dst.copy_(src->second.to(dst.device(), dst.scalar_type()));
    }
}

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
    m_optimizer.step();
    zeroGrad();
    ++m_step;
    r.applied = true;
    return r;
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

}  // namespace recalign::core
