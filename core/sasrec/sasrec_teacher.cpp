// SasRecTeacher (batched scoring without grad), checkpoint files and loadSasRecTeacher.
#include "core/sasrec/sasrec_teacher.h"

#include "core/api/error.h"
#include "core/runtime/runtime.h"
#include "core/sasrec/sasrec_model.h"

#include <c10/core/InferenceMode.h>

#include <algorithm>
#include <numeric>

namespace recalign::core {

void writeSasRecCheckpointHeader(StateWriter& writer, const SasRecModelImpl& model, const Dataset& data)
{
    writer.putString("format", kSasRecCheckpointFormat);
    writer.putString("config", toJson(model.config()));
    writer.putString("dataset_fingerprint", data.fingerprint);
    writer.putString("dataset_name", data.name);
}

SasRecConfig readSasRecCheckpointHeader(const StateReader& reader, const Dataset& data)
{
    const std::string& path = reader.path();
    auto text = [&](const char* key) {
        if (!reader.has(key))
            throw CoreException(ErrorCode::CheckpointIO,
                                "checkpoint '" + path + "': entry '" + key + "' is missing (not a SASRec checkpoint?)", path);
        return reader.getString(key);
    };
    const std::string format = text("format");
    if (format != kSasRecCheckpointFormat)
        throw CoreException(ErrorCode::CheckpointIO, "checkpoint '" + path + "': format '" + format + "', expected '"
                                                         + kSasRecCheckpointFormat + "'", path);
    SasRecConfig config;
    try {
        config = sasRecConfigFromJson(text("config"));
        config.validate();
    } catch (const CoreException& e) {
        throw CoreException(ErrorCode::CheckpointIO, "checkpoint '" + path + "': bad model config: " + e.what(), path);
    }
    const std::string fingerprint = text("dataset_fingerprint");
    const std::string name = text("dataset_name");
    if (fingerprint != data.fingerprint)
        throw CoreException(ErrorCode::CheckpointIO,
                            "checkpoint '" + path + "' was trained on dataset '" + name + "' (fingerprint "
                                + fingerprint.substr(0, 12) + "), not on '" + data.name + "' (fingerprint "
                                + data.fingerprint.substr(0, 12) + "); retrain the teacher for this dataset",
                            path);
    if (config.num_items != data.numItems())
        throw CoreException(ErrorCode::CheckpointIO, "checkpoint '" + path + "' scores "
                                                         + std::to_string(config.num_items) + " items; the dataset has "
                                                         + std::to_string(data.numItems()), path);
    return config;
}

SasRecTeacher::SasRecTeacher(std::shared_ptr<SasRecModelImpl> model, int batch)
    : m_model(std::move(model)), m_batch(std::max(batch, 1))
{
    if (!m_model)
        throw CoreException(ErrorCode::Internal, "SasRecTeacher needs a model");
}

SasRecTeacher::~SasRecTeacher() = default;

const SasRecConfig& SasRecTeacher::config() const { return m_model->config(); }

std::vector<ItemScores> SasRecTeacher::scoreBatch(const std::vector<std::vector<ItemId>>& histories) const
{
    c10::InferenceMode inference;
    const int maxlen = m_model->config().maxlen;
    const size_t width = static_cast<size_t>(m_model->config().num_items) + 1;
    const torch::Device device = m_model->item_emb->weight.device();
    // Similar lengths together, so little padding is computed (scores do not depend on it).
    std::vector<size_t> order(histories.size());
    std::iota(order.begin(), order.end(), size_t{0});
    auto kept = [&](size_t i) { return std::min(histories[i].size(), static_cast<size_t>(maxlen)); };
    std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return kept(a) < kept(b); });

    std::vector<ItemScores> out(histories.size());
    std::vector<std::vector<int32_t>> chunk;
    for (size_t start = 0; start < order.size(); start += static_cast<size_t>(m_batch)) {
        const size_t end = std::min(order.size(), start + static_cast<size_t>(m_batch));
        chunk.clear();
        for (size_t i = start; i < end; ++i) {
            const auto& h = histories[order[i]];
            const size_t k = kept(order[i]);
            chunk.emplace_back(h.end() - static_cast<std::ptrdiff_t>(k), h.end());
        }
        torch::Tensor seqs = padHistories(chunk, maxlen);
        if (device != seqs.device())
            seqs = seqs.to(device);
        const torch::Tensor scores = m_model->scoreLast(seqs).to(torch::kCPU).contiguous();
        const float* p = scores.data_ptr<float>();
        for (size_t i = start; i < end; ++i) {
            const float* row = p + (i - start) * width;
            out[order[i]].assign(row, row + width);
        }
    }
    return out;
}

std::unique_ptr<SasRecTeacher> loadSasRecTeacherTyped(const std::string& checkpointPath, const Dataset& data,
                                                      const DeviceSpec& device)
{
    const StateReader reader(checkpointPath);
    const SasRecConfig config = readSasRecCheckpointHeader(reader, data);
    auto model = std::make_shared<SasRecModelImpl>(config);
    reader.loadModule("model", *model);
    model->eval();
    const torch::Device dev = resolveDevice(device);
    if (dev != torch::Device(torch::kCPU))
        model->to(dev);
    return std::make_unique<SasRecTeacher>(std::move(model));
}

std::unique_ptr<Teacher> loadSasRecTeacher(const std::string& checkpointPath, const Dataset& data)
{
    return loadSasRecTeacherTyped(checkpointPath, data);
}

void saveSasRecTeacher(const SasRecTeacher& teacher, const Dataset& data, const std::string& checkpointPath)
{
    if (teacher.config().num_items != data.numItems())
        throw CoreException(ErrorCode::CheckpointIO, "cannot save a teacher of " + std::to_string(teacher.config().num_items)
                                                         + " items for a dataset of " + std::to_string(data.numItems()),
                            checkpointPath);
    StateWriter writer;
    writeSasRecCheckpointHeader(writer, *teacher.model(), data);
    writer.putModule("model", *teacher.model());
    writer.commit(checkpointPath);
}

}  // namespace recalign::core
