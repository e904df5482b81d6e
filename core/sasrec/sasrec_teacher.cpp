// SasRecTeacher (batched scoring without grad), checkpoint files and loadSasRecTeacher.
#include "core/sasrec/sasrec_teacher.h"

#include "core/api/error.h"
#include "core/runtime/runtime.h"
#include "core/sasrec/sasrec_model.h"
#include "core/util/files.h"

#include <c10/core/InferenceMode.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <numeric>

namespace recalign::core {

namespace sasrec_teacher_detail {

std::string readString(torch::serialize::InputArchive& archive, const char* key, const std::string& path)
{
    c10::IValue v;
    if (!archive.try_read(key, v) || !v.isString())
        throw CoreException(ErrorCode::CheckpointIO,
                            "checkpoint '" + path + "': entry '" + key + "' is missing (not a SASRec checkpoint?)", path);
    return v.toStringRef();
}

}  // namespace sasrec_teacher_detail

void writeSasRecCheckpointHeader(torch::serialize::OutputArchive& archive, const SasRecModelImpl& model,
                                 const Dataset& data)
{
    archive.write("format", c10::IValue(std::string(kSasRecCheckpointFormat)));
    archive.write("config", c10::IValue(toJson(model.config())));
    archive.write("dataset_fingerprint", c10::IValue(data.fingerprint));
    archive.write("dataset_name", c10::IValue(data.name));
}

SasRecConfig readSasRecCheckpointHeader(torch::serialize::InputArchive& archive, const std::string& path,
                                        const Dataset& data)
{
    using sasrec_teacher_detail::readString;
    const std::string format = readString(archive, "format", path);
    if (format != kSasRecCheckpointFormat)
        throw CoreException(ErrorCode::CheckpointIO, "checkpoint '" + path + "': format '" + format + "', expected '"
                                                         + kSasRecCheckpointFormat + "'", path);
    SasRecConfig config;
    try {
        config = sasRecConfigFromJson(readString(archive, "config", path));
        config.validate();
    } catch (const CoreException& e) {
        throw CoreException(ErrorCode::CheckpointIO, "checkpoint '" + path + "': bad model config: " + e.what(), path);
    }
    const std::string fingerprint = readString(archive, "dataset_fingerprint", path);
    const std::string name = readString(archive, "dataset_name", path);
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

void loadSasRecArchive(torch::serialize::InputArchive& archive, const std::string& path)
{
    if (!std::ifstream(path, std::ios::binary).good())
        throw CoreException(ErrorCode::CheckpointIO, "checkpoint '" + path + "' does not exist or cannot be read", path);
    try {
        archive.load_from(path, torch::Device(torch::kCPU));  // CUDA-trained files load anywhere
    } catch (const std::exception& e) {
        throw CoreException(ErrorCode::CheckpointIO,
                            "checkpoint '" + path + "' is not a readable torch archive: " + std::string(e.what()).substr(0, 300),
                            path);
    }
}

void saveSasRecArchive(torch::serialize::OutputArchive& archive, const std::string& path)
{
    replaceFileAtomic(path, [&](const std::string& tmp) { archive.save_to(tmp); }, ErrorCode::CheckpointIO);
}

void writeModel(torch::serialize::OutputArchive& archive, const std::string& key, SasRecModelImpl& model)
{
    torch::serialize::OutputArchive sub;
    model.save(sub);
    archive.write(key, sub);
}

void readModel(torch::serialize::InputArchive& archive, const std::string& key, SasRecModelImpl& model,
               const std::string& path)
{
    torch::serialize::InputArchive sub;
    if (!archive.try_read(key, sub))
        throw CoreException(ErrorCode::CheckpointIO, "checkpoint '" + path + "': no '" + key + "' weights", path);
    try {
        model.load(sub);
    } catch (const std::exception& e) {
        throw CoreException(ErrorCode::CheckpointIO, "checkpoint '" + path + "': weights '" + key
                                                         + "' do not fit the model: " + std::string(e.what()).substr(0, 300),
                            path);
    }
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
    torch::serialize::InputArchive archive;
    loadSasRecArchive(archive, checkpointPath);
    const SasRecConfig config = readSasRecCheckpointHeader(archive, checkpointPath, data);
    auto model = std::make_shared<SasRecModelImpl>(config);
    readModel(archive, "model", *model, checkpointPath);
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
    torch::serialize::OutputArchive archive;
    writeSasRecCheckpointHeader(archive, *teacher.model(), data);
    writeModel(archive, "model", *teacher.model());
    saveSasRecArchive(archive, checkpointPath);
}

}  // namespace recalign::core
