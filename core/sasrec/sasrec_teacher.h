// SasRecTeacher: a trained SASRec behind the Teacher interface (batched, no grad), and the
// loader the rules layer and the PPO reward use: loadSasRecTeacher(checkpoint, dataset), which
// checks that the checkpoint was trained on this very dataset. Torch-free header.
//
// Checkpoint file (one safetensors file through StateWriter, core/runtime/state_file.h):
// "format" = "recalign-sasrec-2", "config" (SasRecConfig JSON), "dataset_fingerprint",
// "dataset_name", "model/..." weights; training checkpoints add "train/..." (optimizer, RNG
// streams, user stream, epoch, history, current and best weights) for resuming.
#pragma once

#include "core/sasrec/sasrec_config.h"
#include "core/sasrec/teacher.h"

#include <memory>
#include <string>

namespace recalign::core {

class SasRecModelImpl;  // torch module (core/sasrec/sasrec_model.h)

class SasRecTeacher : public Teacher {
public:
    // Wraps a model (shared, not copied); `batch` = histories per forward pass.
    explicit SasRecTeacher(std::shared_ptr<SasRecModelImpl> model, int batch = 128);
    ~SasRecTeacher() override;
    std::string name() const override { return "sasrec"; }
    // Scores are the raw logits (dot products with the item table); the released server's
    // softmax is monotone, so top-k and ranks are the same. scores[0] = -inf. Histories longer
    // than maxlen keep their last maxlen items; an empty history scores from padding only.
    std::vector<ItemScores> scoreBatch(const std::vector<std::vector<ItemId>>& histories) const override;
    const SasRecConfig& config() const;
    const std::shared_ptr<SasRecModelImpl>& model() const { return m_model; }

private:
    std::shared_ptr<SasRecModelImpl> m_model;
    int m_batch;
};

// Loads a checkpoint written by trainSasRec. Throws CoreException(CheckpointIO) naming the file
// when it is missing, unreadable, not a SASRec checkpoint, or trained on another dataset
// (fingerprint or catalogue size differs).
std::unique_ptr<Teacher> loadSasRecTeacher(const std::string& checkpointPath, const Dataset& data);
std::unique_ptr<SasRecTeacher> loadSasRecTeacherTyped(const std::string& checkpointPath, const Dataset& data,
                                                      const DeviceSpec& device = {});

// Writes a weights-only checkpoint of `model` for `data` (what loadSasRecTeacher reads).
void saveSasRecTeacher(const SasRecTeacher& teacher, const Dataset& data, const std::string& checkpointPath);

}  // namespace recalign::core
