// Tokenizer: loads librecalign_tokenizer.so (with RTLD_DEEPBIND where it links Debian's shared
// sentencepiece, so its protobuf never meets libtorch's) and forwards to its C table.
#include "core/tokenizer/tokenizer.h"

#include "core/api/error.h"
#include "core/tokenizer/spm_module_api.h"

#include <dlfcn.h>
#include <unistd.h>

#include <climits>
#include <cstdlib>
#include <mutex>
#include <sstream>

#ifndef RECALIGN_INSTALL_LIBDIR
#define RECALIGN_INSTALL_LIBDIR "/usr/local/lib/recalign"
#endif

namespace recalign::core {

namespace tokenizer_detail {

constexpr const char* kModuleName = "librecalign_tokenizer.so";

std::string executableDir()
{
    char buf[PATH_MAX];
    const ssize_t n = readlink("/proc/self/exe", buf, sizeof(buf) - 1);
    if (n <= 0)
        return {};
    std::string p(buf, static_cast<size_t>(n));
    const auto slash = p.rfind('/');
    return slash == std::string::npos ? std::string() : p.substr(0, slash);
}

struct ModuleState {
    std::once_flag once;
    const RecalignSpmApi* api = nullptr;
    TokenizerModuleInfo info;
};

ModuleState& state()
{
    static ModuleState s;
    return s;
}

void loadModule()
{
    auto& s = state();
    std::vector<std::string> candidates;
    if (const char* env = std::getenv("RECALIGN_TOKENIZER_MODULE"); env && *env)
        candidates.emplace_back(env);
    const std::string dir = executableDir();
    if (!dir.empty()) {
        candidates.push_back(dir + "/" + kModuleName);
        candidates.push_back(dir + "/../lib/recalign/" + kModuleName);
    }
    candidates.push_back(std::string(RECALIGN_INSTALL_LIBDIR) + "/" + kModuleName);
    std::ostringstream errors;
    for (const auto& path : candidates) {
        if (access(path.c_str(), R_OK) != 0) {
            errors << path << ": not found; ";
            continue;
        }
        // DEEPBIND keeps the module's protobuf apart from Debian libtorch's (the module links
        // Debian's shared libsentencepiece). A module with sentencepiece's static archives and
        // their symbols hidden (RECALIGN_SENTENCEPIECE_STATIC) needs no DEEPBIND, which would split
        // libstdc++ where torch exports some of its symbols (pip's torch). RECALIGN_TOKENIZER_DEEPBIND
        // = 0 | 1 overrides the build's default.
        const char* deep = std::getenv("RECALIGN_TOKENIZER_DEEPBIND");
        const bool deepbind = deep && *deep ? std::string(deep) != "0" : RECALIGN_TOKENIZER_DEEPBIND_DEFAULT != 0;
        const int flags = RTLD_NOW | RTLD_LOCAL | (deepbind ? RTLD_DEEPBIND : 0);
        void* handle = dlopen(path.c_str(), flags);
        if (!handle) {
            errors << path << ": " << dlerror() << "; ";
            continue;
        }
        using EntryFn = const RecalignSpmApi* (*)(int);
        auto entry = reinterpret_cast<EntryFn>(dlsym(handle, "recalign_spm_api"));
        const RecalignSpmApi* api = entry ? entry(RECALIGN_SPM_API_VERSION) : nullptr;
        if (!api) {
            errors << path << ": no compatible recalign_spm_api; ";
            dlclose(handle);
            continue;
        }
        s.api = api;
        s.info.loaded = true;
        s.info.path = path;
        s.info.library_version = api->library_version();
        return;
    }
    s.info.error = "tokenizer module " + std::string(kModuleName) + " not found (" + errors.str()
        + "set RECALIGN_TOKENIZER_MODULE to its path)";
}

const RecalignSpmApi* api()
{
    auto& s = state();
    std::call_once(s.once, loadModule);
    if (!s.api)
        throw CoreException(ErrorCode::Internal, s.info.error);
    return s.api;
}

std::string takeString(const RecalignSpmApi* api, char* s)
{
    if (!s)
        return {};
    std::string out(s);
    api->free_string(s);
    return out;
}

}  // namespace tokenizer_detail

TokenizerModuleInfo tokenizerModuleInfo()
{
    auto& s = tokenizer_detail::state();
    std::call_once(s.once, tokenizer_detail::loadModule);
    return s.info;
}

Tokenizer::Tokenizer() = default;

Tokenizer::~Tokenizer()
{
    if (m_spm)
        m_api->destroy(m_spm);
}

Tokenizer::Tokenizer(Tokenizer&& o) noexcept { *this = std::move(o); }

Tokenizer& Tokenizer::operator=(Tokenizer&& o) noexcept
{
    if (this != &o) {
        if (m_spm)
            m_api->destroy(m_spm);
        m_api = o.m_api;
        m_spm = o.m_spm;
        m_vocabSize = o.m_vocabSize;
        m_unk = o.m_unk;
        m_bos = o.m_bos;
        m_eos = o.m_eos;
        m_pad = o.m_pad;
        o.m_spm = nullptr;
    }
    return *this;
}

void Tokenizer::adopt(RecalignSpm* spm)
{
    m_spm = spm;
    m_vocabSize = m_api->vocab_size(spm);
    m_unk = m_api->unk_id(spm);
    m_bos = m_api->bos_id(spm);
    m_eos = m_api->eos_id(spm);
    m_pad = m_api->pad_id(spm);
}

Tokenizer Tokenizer::load(const std::string& modelPath)
{
    Tokenizer t;
    t.m_api = tokenizer_detail::api();
    char* error = nullptr;
    RecalignSpm* spm = t.m_api->load(modelPath.c_str(), &error);
    if (!spm)
        throw CoreException(ErrorCode::CheckpointIO,
                            "loading tokenizer '" + modelPath + "': "
                                + tokenizer_detail::takeString(t.m_api, error),
                            modelPath);
    t.adopt(spm);
    return t;
}

Tokenizer Tokenizer::fromBytes(const std::string& serialized)
{
    Tokenizer t;
    t.m_api = tokenizer_detail::api();
    char* error = nullptr;
    RecalignSpm* spm = t.m_api->load_from_bytes(serialized.data(), serialized.size(), &error);
    if (!spm)
        throw CoreException(ErrorCode::CheckpointIO,
                            "loading tokenizer from bytes: " + tokenizer_detail::takeString(t.m_api, error));
    t.adopt(spm);
    return t;
}

void Tokenizer::train(const std::string& corpusPath, const std::string& modelPrefix,
                      const TokenizerTrainOptions& o)
{
    const RecalignSpmApi* api = tokenizer_detail::api();
    std::ostringstream flags;
    flags << "--input=" << corpusPath << " --model_prefix=" << modelPrefix
          << " --model_type=" << o.model_type << " --vocab_size=" << o.vocab_size
          << " --character_coverage=" << o.character_coverage
          << " --byte_fallback=" << (o.byte_fallback ? "true" : "false")
          << " --split_digits=" << (o.split_digits ? "true" : "false")
          << " --num_threads=" << o.num_threads << " --pad_id=" << o.pad_id
          << " --normalization_rule_name=" << o.normalization_rule
          << " --unk_id=0 --bos_id=1 --eos_id=2 --minloglevel=2"
          << " --hard_vocab_limit=false --max_sentence_length=16384"
          << " --remove_extra_whitespaces=false --allow_whitespace_only_pieces=true";
    if (o.input_sentence_size > 0)
        flags << " --input_sentence_size=" << o.input_sentence_size << " --shuffle_input_sentence=true";
    if (!o.user_defined_symbols.empty()) {
        flags << " --user_defined_symbols=";
        for (size_t i = 0; i < o.user_defined_symbols.size(); ++i)
            flags << (i ? "," : "") << o.user_defined_symbols[i];
    }
    char* error = nullptr;
    if (api->train(flags.str().c_str(), &error) != 0)
        throw CoreException(ErrorCode::Internal, "training tokenizer on '" + corpusPath
                                                     + "': " + tokenizer_detail::takeString(api, error));
}

std::vector<int32_t> Tokenizer::encode(const std::string& text) const
{
    if (!m_spm)
        throw CoreException(ErrorCode::Internal, "tokenizer not loaded");
    std::vector<int32_t> ids(text.size() + 16);
    int64_t n = m_api->encode(m_spm, text.data(), text.size(), ids.data(), static_cast<int64_t>(ids.size()));
    if (n < 0)
        throw CoreException(ErrorCode::Internal, "tokenizer failed to encode text");
    if (n > static_cast<int64_t>(ids.size())) {
        ids.resize(static_cast<size_t>(n));
        n = m_api->encode(m_spm, text.data(), text.size(), ids.data(), n);
    }
    ids.resize(static_cast<size_t>(n));
    return ids;
}

std::string Tokenizer::decode(const std::vector<int32_t>& ids) const
{
    if (!m_spm)
        throw CoreException(ErrorCode::Internal, "tokenizer not loaded");
    return tokenizer_detail::takeString(m_api, m_api->decode(m_spm, ids.data(), static_cast<int64_t>(ids.size())));
}

std::string Tokenizer::idToPiece(int32_t id) const
{
    return tokenizer_detail::takeString(m_api, m_api->id_to_piece(m_spm, id));
}

int32_t Tokenizer::pieceToId(const std::string& piece) const { return m_api->piece_to_id(m_spm, piece.c_str()); }

PieceType Tokenizer::pieceType(int32_t id) const { return static_cast<PieceType>(m_api->piece_type(m_spm, id)); }

std::string Tokenizer::serialize() const
{
    size_t size = 0;
    char* bytes = m_api->serialize(m_spm, &size);
    std::string out(bytes, size);
    m_api->free_string(bytes);
    return out;
}

}  // namespace recalign::core
