// Checkpoint files as safetensors plus JSON metadata (see state_file.h).
#include "core/runtime/state_file.h"

#include "core/api/error.h"
#include "core/runtime/optimizer.h"

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/core/Generator.h>
#include <torch/optim/adam.h>
#include <torch/optim/adamw.h>

#include <cmath>
#include <cstring>
#include <fstream>
#include <mutex>
#include <sstream>
#include <type_traits>

namespace recalign::core {

namespace state_file_detail {

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

template <typename Options>
bool usesOptions(const torch::optim::Optimizer& o)
{
    return !o.param_groups().empty() && dynamic_cast<const Options*>(&o.param_groups().front().options());
}

// The scalar options of Adam and AdamW share names and types.
template <typename Options>
nlohmann::json optionsJson(const Options& o)
{
    return {{"lr", o.lr()},
            {"beta1", std::get<0>(o.betas())},
            {"beta2", std::get<1>(o.betas())},
            {"eps", o.eps()},
            {"weight_decay", o.weight_decay()},
            {"amsgrad", o.amsgrad()}};
}

template <typename Options>
void applyOptions(Options& o, const nlohmann::json& j)
{
    o.lr(j.at("lr").get<double>());
    o.betas({j.at("beta1").get<double>(), j.at("beta2").get<double>()});
    o.eps(j.at("eps").get<double>());
    o.weight_decay(j.at("weight_decay").get<double>());
    o.amsgrad(j.at("amsgrad").get<bool>());
}

nlohmann::json doubleJson(double v)
{
    if (std::isnan(v))
        return "nan";
    if (std::isinf(v))
        return v > 0 ? "inf" : "-inf";
    return v;
}

}  // namespace state_file_detail

using namespace state_file_detail;

StDtype stDtypeFor(torch::Dtype d)
{
    switch (d) {
    case torch::kDouble: return StDtype::F64;
    case torch::kFloat: return StDtype::F32;
    case torch::kHalf: return StDtype::F16;
    case torch::kBFloat16: return StDtype::BF16;
    case torch::kLong: return StDtype::I64;
    case torch::kInt: return StDtype::I32;
    case torch::kShort: return StDtype::I16;
    case torch::kChar: return StDtype::I8;
    case torch::kByte: return StDtype::U8;
    case torch::kBool: return StDtype::Bool;
    default: break;
    }
    throw CoreException(ErrorCode::Internal, std::string("no safetensors dtype for torch dtype ") + c10::toString(d));
}

torch::Dtype torchDtypeFor(StDtype d)
{
    switch (d) {
    case StDtype::F64: return torch::kDouble;
    case StDtype::F32: return torch::kFloat;
    case StDtype::F16: return torch::kHalf;
    case StDtype::BF16: return torch::kBFloat16;
    case StDtype::I64: return torch::kLong;
    case StDtype::I32: return torch::kInt;
    case StDtype::I16: return torch::kShort;
    case StDtype::I8: return torch::kChar;
    case StDtype::U8: return torch::kByte;
    case StDtype::Bool: return torch::kBool;
    }
    return torch::kFloat;
}

torch::Tensor tensorFromSafetensors(const SafetensorsFile& file, const StTensorInfo& info)
{
    torch::Tensor t = torch::empty(info.shape, torch::TensorOptions().dtype(torchDtypeFor(info.dtype)));
    if (info.end > info.begin)
        std::memcpy(t.data_ptr(), file.data(info), static_cast<size_t>(info.end - info.begin));
    return t;
}

// ---- StateWriter -------------------------------------------------------------------------------

StateWriter::StateWriter() = default;

void StateWriter::checkNew(const std::string& key) const
{
    if (key.empty() || key == "__metadata__" || m_values.contains(key))
        throw CoreException(ErrorCode::Internal, "checkpoint key '" + key + "' is empty, reserved or written twice");
    for (const auto& t : m_tensors)
        if (t.first == key)
            throw CoreException(ErrorCode::Internal, "checkpoint key '" + key + "' written twice");
}

void StateWriter::putTensor(const std::string& key, const torch::Tensor& value)
{
    checkNew(key);
    // A private CPU copy: later training steps must not change what is written.
    m_tensors.emplace_back(key, value.detach().to(torch::kCPU).contiguous().clone());
}

void StateWriter::putInt(const std::string& key, int64_t value)
{
    checkNew(key);
    m_values[key] = value;
}

void StateWriter::putDouble(const std::string& key, double value)
{
    checkNew(key);
    m_values[key] = doubleJson(value);
}

void StateWriter::putString(const std::string& key, const std::string& value)
{
    checkNew(key);
    m_values[key] = value;
}

void StateWriter::putNamedTensors(const std::string& prefix,
                                  const std::vector<std::pair<std::string, torch::Tensor>>& tensors)
{
    putString(prefix + "/names", joinNames(tensors));
    for (size_t i = 0; i < tensors.size(); ++i)
        putTensor(prefix + "/t" + std::to_string(i), tensors[i].second);
}

void StateWriter::putModule(const std::string& prefix, const torch::nn::Module& module)
{
    putNamedTensors(prefix, moduleTensors(module));
}

void StateWriter::putOptimizer(const std::string& key, const torch::optim::Optimizer& optimizer)
{
    auto save = [&](auto optionsTag, auto stateTag, const char* kind) {
        using Options = decltype(optionsTag);
        using ParamState = decltype(stateTag);
        putString(key + "/kind", kind);
        putInt(key + "/groups", static_cast<int64_t>(optimizer.param_groups().size()));
        int64_t index = 0;
        const auto& state = optimizer.state();
        for (size_t g = 0; g < optimizer.param_groups().size(); ++g) {
            const auto& group = optimizer.param_groups()[g];
            const std::string gk = key + "/group/" + std::to_string(g);
            putString(gk + "/options", optionsJson(static_cast<const Options&>(group.options())).dump());
            putInt(gk + "/params", static_cast<int64_t>(group.params().size()));
            for (const auto& p : group.params()) {
                const std::string sk = key + "/state/" + std::to_string(index++);
                auto it = state.find(optimizerStateKey(state, p));
                if (it == state.end())
                    continue;
                const auto& s = static_cast<const ParamState&>(*it->second);
                putInt(sk + "/step", s.step());
                putTensor(sk + "/exp_avg", s.exp_avg());
                putTensor(sk + "/exp_avg_sq", s.exp_avg_sq());
                if (s.max_exp_avg_sq().defined())
                    putTensor(sk + "/max_exp_avg_sq", s.max_exp_avg_sq());
            }
        }
    };
    if (usesOptions<torch::optim::AdamWOptions>(optimizer))
        save(torch::optim::AdamWOptions(), torch::optim::AdamWParamState(), "adamw");
    else if (usesOptions<torch::optim::AdamOptions>(optimizer))
        save(torch::optim::AdamOptions(), torch::optim::AdamParamState(), "adam");
    else
        throw CoreException(ErrorCode::Internal, "checkpoint '" + key + "': only Adam and AdamW optimizers are saved");
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
    std::vector<StWriteTensor> tensors;
    tensors.reserve(m_tensors.size());
    for (const auto& [name, t] : m_tensors)
        tensors.push_back({name, stDtypeFor(t.scalar_type()), t.sizes().vec(), t.data_ptr()});
    writeSafetensors(path, tensors, {{"format", kStateFileFormat}, {"values", m_values.dump()}});
}

// ---- StateReader -------------------------------------------------------------------------------

StateReader::StateReader(const std::string& path) : m_path(path)
{
    {
        std::ifstream in(path, std::ios::binary);
        if (!in)
            throw CoreException(ErrorCode::CheckpointIO, "checkpoint '" + path + "' does not exist or cannot be read", path);
        char magic[4] = {};
        in.read(magic, 4);
        if (in.gcount() == 4 && std::memcmp(magic, "PK\x03\x04", 4) == 0)
            throw CoreException(ErrorCode::CheckpointIO,
                                "checkpoint '" + path + "' is a torch archive written by an earlier version of "
                                "RecAlign Studio; checkpoints are safetensors now and that format is not read: "
                                "rerun the stage (delete the file, or its stage folder, and run again)",
                                path);
    }
    m_file = SafetensorsFile::open(path);
    const auto& meta = m_file.metadata();
    auto format = meta.find("format");
    if (format == meta.end() || format->second != kStateFileFormat)
        throw CoreException(ErrorCode::CheckpointIO,
                            "checkpoint '" + path + "': metadata 'format' is '"
                                + (format == meta.end() ? std::string() : format->second) + "', expected '"
                                + kStateFileFormat + "' (not a RecAlign Studio checkpoint?)",
                            path);
    auto values = meta.find("values");
    try {
        m_values = values == meta.end() ? nlohmann::json::object() : nlohmann::json::parse(values->second);
    } catch (const nlohmann::json::exception& e) {
        throw CoreException(ErrorCode::CheckpointIO, "checkpoint '" + path + "': metadata 'values' is not JSON: " + e.what(),
                            path);
    }
    if (!m_values.is_object())
        throw CoreException(ErrorCode::CheckpointIO, "checkpoint '" + path + "': metadata 'values' is not a JSON object",
                            path);
}

void StateReader::missing(const std::string& key) const
{
    throw CoreException(ErrorCode::CheckpointIO, "checkpoint '" + m_path + "' has no entry '" + key + "'", m_path);
}

const nlohmann::json& StateReader::value(const std::string& key) const
{
    auto it = m_values.find(key);
    if (it == m_values.end())
        missing(key);
    return *it;
}

bool StateReader::has(const std::string& key) const { return m_values.contains(key) || m_file.has(key); }

torch::Tensor StateReader::getTensor(const std::string& key) const
{
    if (!m_file.has(key))
        missing(key);
    return tensorFromSafetensors(m_file, m_file.info(key));
}

int64_t StateReader::getInt(const std::string& key) const
{
    const auto& v = value(key);
    if (!v.is_number_integer())
        missing(key);
    return v.get<int64_t>();
}

double StateReader::getDouble(const std::string& key) const
{
    const auto& v = value(key);
    if (v.is_number())
        return v.get<double>();
    if (v.is_string()) {
        const auto s = v.get<std::string>();
        if (s == "nan")
            return std::nan("");
        if (s == "inf")
            return HUGE_VAL;
        if (s == "-inf")
            return -HUGE_VAL;
    }
    missing(key);
}

std::string StateReader::getString(const std::string& key) const
{
    const auto& v = value(key);
    if (!v.is_string())
        missing(key);
    return v.get<std::string>();
}

std::vector<std::pair<std::string, torch::Tensor>> StateReader::getNamedTensors(const std::string& prefix) const
{
    const auto names = splitNames(getString(prefix + "/names"));
    std::vector<std::pair<std::string, torch::Tensor>> out;
    out.reserve(names.size());
    for (size_t i = 0; i < names.size(); ++i)
        out.emplace_back(names[i], getTensor(prefix + "/t" + std::to_string(i)));
    return out;
}

void StateReader::loadModule(const std::string& prefix, torch::nn::Module& module) const
{
    copyNamedTensors(getNamedTensors(prefix), moduleTensors(module), "checkpoint '" + m_path + "' (" + prefix + ")");
}

void StateReader::loadOptimizer(const std::string& key, torch::optim::Optimizer& optimizer) const
{
    auto unfit = [&](const std::string& why) {
        throw CoreException(ErrorCode::CheckpointIO,
                            "checkpoint '" + m_path + "': optimizer state '" + key + "' does not fit this model: " + why,
                            m_path);
    };
    auto load = [&](auto optionsTag, auto stateTag, const char* kind) {
        using Options = decltype(optionsTag);
        using ParamState = decltype(stateTag);
        const std::string stored = getString(key + "/kind");
        if (stored != kind)
            unfit("stored for " + stored + ", this optimizer is " + kind);
        auto& groups = optimizer.param_groups();
        if (getInt(key + "/groups") != static_cast<int64_t>(groups.size()))
            unfit(std::to_string(getInt(key + "/groups")) + " parameter groups stored, "
                  + std::to_string(groups.size()) + " expected");
        auto& state = optimizer.state();
        state.clear();
        int64_t index = 0;
        for (size_t g = 0; g < groups.size(); ++g) {
            const std::string gk = key + "/group/" + std::to_string(g);
            if (getInt(gk + "/params") != static_cast<int64_t>(groups[g].params().size()))
                unfit("group " + std::to_string(g) + " holds " + std::to_string(getInt(gk + "/params"))
                      + " parameters, " + std::to_string(groups[g].params().size()) + " expected");
            try {
                applyOptions(static_cast<Options&>(groups[g].options()), nlohmann::json::parse(getString(gk + "/options")));
            } catch (const nlohmann::json::exception& e) {
                unfit(std::string("group options unreadable: ") + e.what());
            }
            for (const auto& p : groups[g].params()) {
                const std::string sk = key + "/state/" + std::to_string(index++);
                if (!has(sk + "/step"))
                    continue;
                auto s = std::make_unique<ParamState>();
                auto moment = [&](const std::string& name) {
                    torch::Tensor t = getTensor(sk + "/" + name);
                    if (t.sizes() != p.sizes())
                        unfit("'" + sk + "/" + name + "' has a different shape from its parameter");
                    return t.to(p.device(), p.scalar_type());
                };
                s->step(getInt(sk + "/step"));
                s->exp_avg(moment("exp_avg"));
                s->exp_avg_sq(moment("exp_avg_sq"));
                if (has(sk + "/max_exp_avg_sq"))
                    s->max_exp_avg_sq(moment("max_exp_avg_sq"));
                state[optimizerStateKey(state, p)] = std::move(s);
            }
        }
    };
    if (usesOptions<torch::optim::AdamWOptions>(optimizer))
        load(torch::optim::AdamWOptions(), torch::optim::AdamWParamState(), "adamw");
    else if (usesOptions<torch::optim::AdamOptions>(optimizer))
        load(torch::optim::AdamOptions(), torch::optim::AdamParamState(), "adam");
    else
        throw CoreException(ErrorCode::Internal, "checkpoint '" + key + "': only Adam and AdamW optimizers are loaded");
}

void StateReader::loadTorchRng(const std::string& key) const
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
            throw CoreException(ErrorCode::CheckpointIO, what + ": no stored tensor named '" + target[i].first + "'");
        if (src->second.sizes() != target[i].second.sizes())
            throw CoreException(ErrorCode::CheckpointIO, what + ": '" + target[i].first + "' has a different shape");
        auto dst = target[i].second;
        dst.copy_(src->second.to(dst.device(), dst.scalar_type()));
    }
}

}  // namespace recalign::core
