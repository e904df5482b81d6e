// The sentencepiece module: the only code that links libsentencepiece. Implements the plain-C
// table of spm_module_api.h; no protobuf or sentencepiece type crosses the boundary.
#include "core/tokenizer/spm_module_api.h"

#include <sentencepiece_processor.h>
#include <sentencepiece_trainer.h>

#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

struct RecalignSpm {
    sentencepiece::SentencePieceProcessor processor;
};

namespace recalign_spm {

char* dupString(const std::string& s)
{
    char* out = static_cast<char*>(std::malloc(s.size() + 1));
    if (out) {
        std::memcpy(out, s.data(), s.size());
        out[s.size()] = '\0';
    }
    return out;
}

void setError(char** error, const std::string& message)
{
    if (error)
        *error = dupString(message);
}

const char* libraryVersion() { return "sentencepiece (Debian libsentencepiece0)"; }

RecalignSpm* load(const char* path, char** error)
{
    auto* spm = new RecalignSpm;
    const auto status = spm->processor.Load(path);
    if (!status.ok()) {
        setError(error, status.ToString());
        delete spm;
        return nullptr;
    }
    return spm;
}

RecalignSpm* loadFromBytes(const char* data, size_t size, char** error)
{
    auto* spm = new RecalignSpm;
    const auto status = spm->processor.LoadFromSerializedProto(std::string(data, size));
    if (!status.ok()) {
        setError(error, status.ToString());
        delete spm;
        return nullptr;
    }
    return spm;
}

void destroy(RecalignSpm* spm) { delete spm; }

int64_t encode(RecalignSpm* spm, const char* text, size_t size, int32_t* ids, int64_t capacity)
{
    std::vector<int> out;
    if (!spm->processor.Encode(std::string(text, size), &out).ok())
        return -1;
    const int64_t n = static_cast<int64_t>(out.size());
    for (int64_t i = 0; i < n && i < capacity; ++i)
        ids[i] = out[static_cast<size_t>(i)];
    return n;
}

char* decode(RecalignSpm* spm, const int32_t* ids, int64_t count)
{
    std::vector<int> in(ids, ids + count);
    std::string text;
    if (!spm->processor.Decode(in, &text).ok())
        return dupString("");
    return dupString(text);
}

int32_t vocabSize(RecalignSpm* spm) { return spm->processor.GetPieceSize(); }

char* idToPiece(RecalignSpm* spm, int32_t id)
{
    if (id < 0 || id >= spm->processor.GetPieceSize())
        return dupString("");
    return dupString(spm->processor.IdToPiece(id));
}

int32_t pieceToId(RecalignSpm* spm, const char* piece) { return spm->processor.PieceToId(piece); }

float score(RecalignSpm* spm, int32_t id)
{
    if (id < 0 || id >= spm->processor.GetPieceSize())
        return 0.0f;
    return spm->processor.GetScore(id);
}

int pieceType(RecalignSpm* spm, int32_t id)
{
    auto& p = spm->processor;
    if (id < 0 || id >= p.GetPieceSize())
        return 0;
    if (p.IsUnknown(id))
        return 2;
    if (p.IsControl(id))
        return 3;
    if (p.IsUnused(id))
        return 5;
    if (p.IsByte(id))
        return 6;
    return 1;
}

int32_t unkId(RecalignSpm* spm) { return spm->processor.unk_id(); }
int32_t bosId(RecalignSpm* spm) { return spm->processor.bos_id(); }
int32_t eosId(RecalignSpm* spm) { return spm->processor.eos_id(); }
int32_t padId(RecalignSpm* spm) { return spm->processor.pad_id(); }

char* serialize(RecalignSpm* spm, size_t* size)
{
    const std::string bytes = spm->processor.serialized_model_proto();
    if (size)
        *size = bytes.size();
    char* out = static_cast<char*>(std::malloc(bytes.size() + 1));
    if (out)
        std::memcpy(out, bytes.data(), bytes.size());
    return out;
}

int train(const char* flags, char** error)
{
    const auto status = sentencepiece::SentencePieceTrainer::Train(flags);
    if (!status.ok()) {
        setError(error, status.ToString());
        return 1;
    }
    return 0;
}

void freeString(char* s) { std::free(s); }

const RecalignSpmApi kApi = {
    RECALIGN_SPM_API_VERSION, libraryVersion, load, loadFromBytes, destroy, encode, decode,
    vocabSize, idToPiece, pieceToId, score, pieceType, unkId, bosId, eosId, padId, serialize,
    train, freeString,
};

}  // namespace recalign_spm

extern "C" __attribute__((visibility("default"))) const RecalignSpmApi* recalign_spm_api(int version)
{
    return version == RECALIGN_SPM_API_VERSION ? &recalign_spm::kApi : nullptr;
}
