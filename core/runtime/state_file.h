// Checkpoint files: everything a trainer needs to continue exactly (named tensors, module
// parameters and buffers, Adam/AdamW moments and steps, torch's CPU generator state, integers,
// doubles, strings), written as one safetensors file (core/util/safetensors.h) whose
// "__metadata__" holds the scalar values as JSON. No torch archive is involved: any safetensors
// reader (Python's `safetensors`, Rust, ...) opens these files.
//
// Layout: tensors are stored under their '/'-separated keys ("params/actor/t3",
// "optimizer/state/5/exp_avg"); metadata {"format": "recalign-state-1", "values": "<JSON object
// key → int | double | string>"}. Doubles keep all 17 significant digits (non-finite ones are
// stored as the strings "nan", "inf", "-inf"), so a resume is bit-exact.
#pragma once

#include "core/util/safetensors.h"

#include <nlohmann/json.hpp>
#include <torch/nn/module.h>
#include <torch/optim/optimizer.h>
#include <torch/types.h>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace recalign::core {

inline constexpr const char* kStateFileFormat = "recalign-state-1";

// torch dtype ↔ safetensors dtype. stDtypeFor throws CoreException(Internal) for a dtype the
// format cannot hold (complex, quantised).
StDtype stDtypeFor(torch::Dtype dtype);
torch::Dtype torchDtypeFor(StDtype dtype);
// A CPU tensor holding a copy of the stored bytes.
torch::Tensor tensorFromSafetensors(const SafetensorsFile& file, const StTensorInfo& info);

// Builds one checkpoint file. Keys are '/'-separated paths ("params/actor/layers.0.q.lora_a").
class StateWriter {
public:
    StateWriter();
    void putTensor(const std::string& key, const torch::Tensor& value);
    void putInt(const std::string& key, int64_t value);
    void putDouble(const std::string& key, double value);
    void putString(const std::string& key, const std::string& value);
    // Named tensors under `prefix` (names may contain dots); the list of names is stored too.
    void putNamedTensors(const std::string& prefix,
                         const std::vector<std::pair<std::string, torch::Tensor>>& tensors);
    // Every parameter and buffer of `module` (recursively) under `prefix`.
    void putModule(const std::string& prefix, const torch::nn::Module& module);
    // Adam or AdamW: each group's options and each parameter's step and moments, by parameter
    // position (group by group). Other optimizers throw CoreException(Internal).
    void putOptimizer(const std::string& key, const torch::optim::Optimizer& optimizer);
    // torch's default CPU generator state.
    void putTorchRng(const std::string& key);
    // Writes `path` atomically (a synced temporary renamed over `path`). An existing `path` is
    // left intact when anything fails. Throws CoreException(CheckpointIO).
    void commit(const std::string& path);

private:
    std::vector<std::pair<std::string, torch::Tensor>> m_tensors;
    nlohmann::json m_values = nlohmann::json::object();
    void checkNew(const std::string& key) const;
};

// Reads a checkpoint written by StateWriter. A missing key throws CoreException(CheckpointIO)
// naming the file and the key; a torch archive from an earlier version is a CheckpointIO error
// that says to rerun the stage.
class StateReader {
public:
    explicit StateReader(const std::string& path);
    const std::string& path() const { return m_path; }
    bool has(const std::string& key) const;
    torch::Tensor getTensor(const std::string& key) const;
    int64_t getInt(const std::string& key) const;
    double getDouble(const std::string& key) const;
    std::string getString(const std::string& key) const;
    std::vector<std::pair<std::string, torch::Tensor>> getNamedTensors(const std::string& prefix) const;
    // Copies every stored parameter/buffer into `module` (names and shapes must match; missing or
    // extra names are errors).
    void loadModule(const std::string& prefix, torch::nn::Module& module) const;
    // Restores what putOptimizer stored into an optimizer of the same kind over parameters of the
    // same shapes (moments are moved to each parameter's device).
    void loadOptimizer(const std::string& key, torch::optim::Optimizer& optimizer) const;
    void loadTorchRng(const std::string& key) const;

private:
    std::string m_path;
    SafetensorsFile m_file;
    nlohmann::json m_values;
    [[noreturn]] void missing(const std::string& key) const;
    const nlohmann::json& value(const std::string& key) const;
};

// Copies `source` tensors into the same-named entries of `target` (shapes must match).
void copyNamedTensors(const std::vector<std::pair<std::string, torch::Tensor>>& source,
                      const std::vector<std::pair<std::string, torch::Tensor>>& target,
                      const std::string& what);

}  // namespace recalign::core
