// Internal to core/pipeline: dataset specs and checkpoint loading shared by the pipeline's
// stages and the probe. Torch (included only by core/pipeline .cpp files).
#pragma once

#include "core/api/experiment.h"
#include "core/data/importers.h"
#include "core/llm/chat_template.h"
#include "core/llm/loaders.h"
#include "core/llm/title_constraint.h"

#include <torch/types.h>

#include <memory>
#include <string>

namespace recalign::core::pipeline_internal {

// The importer spec of an experiment's dataset (cache under <workspace>/cache/data).
DatasetSpec datasetSpec(const ExperimentConfig& cfg, const std::string& workspace);
// Loads the dataset and applies dataset.max_users.
Dataset loadExperimentDataset(const ExperimentConfig& cfg, const std::string& workspace);
llm::ChatTemplate chatTemplate(const ExperimentConfig& cfg);
// Constrained decoding over the whole catalogue, its lists opening after the template's
// assistant tag; at most `maxItems` lines.
std::unique_ptr<llm::TitleConstraint> catalogueConstraint(const Tokenizer& tokenizer, const Dataset& data,
                                                          llm::ChatTemplate tmpl, int maxItems);

// Where a variant's weights are: the base model, the SFT adapter, the PPO actor adapter.
struct VariantWeights {
    std::string base_dir;       // our checkpoint folder or an external model path
    std::string tokenizer;      // tokenizer.model
    std::string sft_dir;        // PEFT folder ("" = none); a model folder with full fine-tuning
    std::string ppo_dir;        // PEFT folder of the actor ("" = none)
    bool full_finetune = false;
};

// Base only (zero-shot); base + "sft" active; or SFT merged into the base + "actor" active.
// The base is stored in model.dtype (float32 when fully fine-tuned: the master weights), adapters in
// float32; products in model.dtype when it is a half type, else in model.compute_dtype.
// `progress` (optional) hears the base's bytes as a Hugging Face folder loads.
llm::LoadedModel loadVariantModel(const VariantWeights& w, const torch::Device& device, const ModelConfig& model,
                                  const llm::LoadProgress& progress = {});

}  // namespace recalign::core::pipeline_internal
