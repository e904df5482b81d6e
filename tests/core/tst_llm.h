// Shared declarations of the core/llm tests (tst_llm.cpp: model, LoRA, generation, chat,
// pre-training; tst_llm_formats.cpp: checkpoint formats and their corruption errors).
#pragma once

#include "core/api/error.h"
#include "core/llm/llama_config.h"
#include "core/llm/llama_model.h"

#include <torch/torch.h>

#include <QObject>

#include <fstream>
#include <random>
#include <string>
#include <vector>

namespace tst_llm_util {

using namespace recalign::core;
using namespace recalign::core::llm;

inline const std::string kStories = std::string(RECALIGN_SHARED_DIR) + "/models/stories260K/";

inline std::string readText(const std::string& path)
{
    std::ifstream in(path, std::ios::binary);
    return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

inline LlamaConfig tinyConfig(RopeLayout layout, bool tied)
{
    LlamaConfig c;
    c.dim = 32;
    c.hidden_dim = 64;
    c.n_layers = 2;
    c.n_heads = 4;
    c.n_kv_heads = 2;
    c.vocab_size = 97;
    c.max_seq_len = 64;
    c.rope_layout = layout;
    c.tie_embeddings = tied;
    return c;
}

inline LlamaModel randomModel(const LlamaConfig& c, uint64_t seed)
{
    LlamaModel m(c);
    initLlamaWeights(*m, seed);
    // Larger weights than training init, so logits vary and comparisons are meaningful.
    torch::NoGradGuard ng;
    for (auto& p : m->parameters())
        if (p.dim() == 2)
            p.mul_(5.0);
    m->eval();
    return m;
}

inline torch::Tensor logitsOf(LlamaModel& m, const torch::Tensor& tokens)
{
    torch::NoGradGuard ng;
    return m->forward(tokens).logits;
}

inline void randomizeAdapter(LlamaModel& m, const std::string& name, uint64_t seed)
{
    torch::NoGradGuard ng;
    torch::manual_seed(seed);
    for (auto& t : m->adapterParameters(name))
        t.copy_(torch::randn(t.sizes()) * 0.3);
}

// Adds `spec` (its targets: every linear) as a random adapter and activates it.
inline void addRandomAdapter(LlamaModel& m, const std::string& name, uint64_t seed, LoraSpec spec = {})
{
    spec.targets = parseLoraTargets({"all"});
    m->addAdapter(name, spec);
    randomizeAdapter(m, name, seed);
    m->setActiveAdapter(name);
}

template <typename F>
ErrorCode errorOf(F&& f, std::string* message = nullptr)
{
    try {
        f();
    } catch (const CoreException& e) {
        if (message)
            *message = e.what();
        return e.error().code;
    }
    return ErrorCode::None;
}

// Random made-up titles for the constrained-decoding test.
inline std::vector<std::string> randomTitles(int n, uint64_t seed)
{
    static const char* syll[] = {"ka", "zor", "bli", "mun", "tep", "ra", "vo", "quin", "del", "sha", "po", "lix"};
    std::mt19937_64 rng(seed);
    std::vector<std::string> out;
    for (int i = 0; i < n; ++i) {
        std::string t;
        const int words = 1 + static_cast<int>(rng() % 3);
        for (int w = 0; w < words; ++w) {
            std::string word;
            const int s = 1 + static_cast<int>(rng() % 3);
            for (int k = 0; k < s; ++k)
                word += syll[rng() % 12];
            word[0] = static_cast<char>(std::toupper(word[0]));
            t += (w ? " " : "") + word;
        }
        t += " (" + std::to_string(1950 + rng() % 70) + ")";
        out.push_back(t);
    }
    return out;
}

}  // namespace tst_llm_util

class TstLlm : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void stories260KGreedyReproducesLlama2cReference();
    void kvCachedLogitsEqualFullForward();
    void chunkedCausalAttentionEqualsTheFullSquare();
    void outputsLastEqualTheFullForwardsLastRows();
    void fusedKernelsEqualTheComposite();
    void fastDecoderMatchesGenericPath();
    void batchedGenerationEqualsOneByOne();
    void sharedPrefillGivesWhatEachCallGivesAlone();
    void deviceDecodeLoopEqualsHostLoop();
    void generationLogprobsEqualRecomputation();
    void samplingIsSeededAndHonoursTopK();
    void constrainedDecodingNeverEmitsUnknownTitles();
    void rowConstraintForbidsTitlesWithoutDeadEnds();
    void rowConstraintListsExactlyKNewTitles();
    void rowConstraintsShapeGeneratedLists();
    void hfLayoutRoundTripKeepsLogits();
    void randomGeometryStreamsIntoTheStorageDtype();
    void ropeScalingLlama3AndMistralFields();
    void llama2cAndOwnCheckpointsRoundTrip();
    void safetensorsCorruptionGivesClearErrors();
    void llama2cCorruptionGivesClearErrors();
    void loraWithZeroBEqualsBase();
    void loraMergeEqualsAdaptedAndDisableGivesBase();
    void namedAdaptersAreIndependentAndOnlyTheyTrain();
    void loraInitialisationFollowsPeft();
    void peftAdapterRoundTripsKeysShapesAndOutputs();
    void llama2ChatTemplateMatchesReclmGen();
    void pretrainingLowersLossAndCanBeCancelled();
    void halfPrecisionRunsTheGenericPath();
    void bfloat16ProductsKeepFloat32WeightsAndOutputs();
    void gradientCheckpointingReplaysDropout();
    void stackedAdapterIsTheReferenceWithoutMerging();
};
