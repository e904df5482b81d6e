// Tokenizer: a sentencepiece model behind the dlopen'd module (spm_module_api.h). Torch-free.
// Thread-safety: const methods may be called from several threads once loaded.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

struct RecalignSpmApi;
struct RecalignSpm;

namespace recalign::core {

// Where the module was found and which sentencepiece it wraps (for `recalign info`).
struct TokenizerModuleInfo {
    bool loaded = false;
    std::string path;
    std::string library_version;
    std::string error;  // why loading failed, when it did
};

// Loads the module once per process (thread-safe). Search order: $RECALIGN_TOKENIZER_MODULE,
// the executable's folder, ../lib/recalign next to it, the install prefix's lib/recalign.
TokenizerModuleInfo tokenizerModuleInfo();

enum class PieceType { Invalid = 0, Normal = 1, Unknown = 2, Control = 3, UserDefined = 4, Unused = 5, Byte = 6 };

struct TokenizerTrainOptions {
    std::string model_type = "bpe";  // bpe | unigram | char | word
    int vocab_size = 512;
    std::vector<std::string> user_defined_symbols;  // kept as single pieces, e.g. "[INST]"
    bool byte_fallback = true;
    double character_coverage = 1.0;
    int num_threads = 1;
    long input_sentence_size = 0;  // 0 = use every line
    bool split_digits = true;
    int pad_id = -1;  // -1 = no pad piece (pad uses unk, as Llama-2)
    // sentencepiece normalization: "nmt_nfkc" (its default; maps "\n" to a space) or "identity"
    // (Llama-2's; keeps newlines, which list outputs need).
    std::string normalization_rule = "nmt_nfkc";
};

class Tokenizer {
public:
    Tokenizer();
    ~Tokenizer();
    Tokenizer(Tokenizer&&) noexcept;
    Tokenizer& operator=(Tokenizer&&) noexcept;
    Tokenizer(const Tokenizer&) = delete;
    Tokenizer& operator=(const Tokenizer&) = delete;

    // Throws CoreException(CheckpointIO) naming the path on failure.
    static Tokenizer load(const std::string& modelPath);
    static Tokenizer fromBytes(const std::string& serialized);
    // Trains on a UTF-8 corpus file (one sentence per line) and writes <prefix>.model/.vocab.
    static void train(const std::string& corpusPath, const std::string& modelPrefix,
                      const TokenizerTrainOptions& options);

    bool isLoaded() const { return m_spm != nullptr; }
    std::vector<int32_t> encode(const std::string& text) const;  // no BOS/EOS added
    std::string decode(const std::vector<int32_t>& ids) const;
    std::string decodeOne(int32_t id) const { return decode(std::vector<int32_t>{id}); }
    int32_t vocabSize() const { return m_vocabSize; }
    std::string idToPiece(int32_t id) const;
    int32_t pieceToId(const std::string& piece) const;
    PieceType pieceType(int32_t id) const;
    int32_t unkId() const { return m_unk; }
    int32_t bosId() const { return m_bos; }
    int32_t eosId() const { return m_eos; }
    // Pad id: the model's pad piece, or unk when it has none (the Llama-2 convention).
    int32_t padId() const { return m_pad >= 0 ? m_pad : m_unk; }
    std::string serialize() const;

private:
    const RecalignSpmApi* m_api = nullptr;
    RecalignSpm* m_spm = nullptr;
    int32_t m_vocabSize = 0;
    int32_t m_unk = 0, m_bos = -1, m_eos = -1, m_pad = -1;
    void adopt(RecalignSpm* spm);
};

}  // namespace recalign::core
