// `recalign bench llm`: greedy generation tokens/s on stories260K at batch 1 and 32 (256 new
// tokens, KV cache; fused CPU path, optionally the generic torch path), forward+backward tokens/s
// and achieved GFLOP/s for the quickstart model size and a dim-256 model, and the peak RSS.
#include "app/cli/command.h"

#include "core/api/info.h"

#include "core/llm/generation.h"
#include "core/llm/loaders.h"
#include "core/llm/pretrain.h"
#include "core/runtime/runtime.h"
#include "core/util/strings.h"


#include <algorithm>
#include <ctime>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>

namespace recalign::cli {

namespace bench_llm_detail {

namespace fs = std::filesystem;
using core::str::fixed;

std::string defaultStories()
{
    std::vector<fs::path> candidates;
    if (const char* s = std::getenv("RECALIGN_SHARED_DIR"); s && *s)
        candidates.push_back(fs::path(s) / "models/stories260K");
    candidates.push_back("../shared/models/stories260K");
    std::error_code ec;
    fs::path exe = fs::read_symlink("/proc/self/exe", ec);
    for (int up = 0; up < 5 && !ec && exe.has_parent_path(); ++up) {
        exe = exe.parent_path();
        candidates.push_back(exe / "shared/models/stories260K");
        candidates.push_back(exe / "../shared/models/stories260K");
    }
    for (const auto& c : candidates)
        if (fs::exists(c / "stories260K.bin", ec))
            return c.lexically_normal().string();
    return {};
}


double processCpuSeconds()
{
    timespec ts{};
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

double median(std::vector<double> v)
{
    std::sort(v.begin(), v.end());
    return v.empty() ? 0.0 : v[v.size() / 2];
}

const char* kUsage =
    "usage: recalign bench llm [--model PATH] [--new-tokens N] [--batches 1,32] [--repeats N]\n"
    "           [--train-seq N] [--train-batch N] [--train-steps N] [--generic] [--no-train]\n"
    "           [--device cpu|cuda|cuda:N|auto]\n"
    "Generation: greedy from BOS, N new tokens (default 256) per row, every row runs to N (no early\n"
    "stop), median of --repeats runs (default 5), fused CPU path (and with --generic the generic torch\n"
    "path, which CUDA and half precision use); tokens per\n"
    "CPU-second (process CPU time) is shown too, since wall time depends on the machine's load.\n"
    "Training: forward+backward on random tokens, quickstart size (dim 64, 4 layers, 4 heads,\n"
    "vocab 512) and dim 256 / 4 layers / 8 heads; GFLOP/s counts 6·(matmul params)·tokens +\n"
    "12·layers·dim·seq·tokens (attention).\n"
    "--device (default cpu) runs both parts there; off the CPU only the generic path exists.\n";

void benchGeneration(core::llm::LlamaModelImpl& model, const std::vector<int>& batches, int newTokens, int repeats,
                     bool fast)
{
    using namespace core::llm;
    for (int B : batches) {
        GenerationConfig g;
        g.max_new_tokens = newTokens;
        g.temperature = 0.0;
        g.stop_token_ids = {-1};  // never stop early: every row generates N tokens
        g.fast_path = fast;
        std::vector<double> rates, cpuRates;
        generate(model, std::vector<std::vector<int32_t>>(static_cast<size_t>(B), {1}), g);  // warm-up
        for (int r = 0; r < repeats; ++r) {
            const double cpu0 = processCpuSeconds();
            const GenerationResult res = generate(model, std::vector<std::vector<int32_t>>(static_cast<size_t>(B), {1}), g);
            const double cpu = processCpuSeconds() - cpu0;
            long tokens = 0;
            for (const auto& t : res.tokens)
                tokens += static_cast<long>(t.size());
            rates.push_back(static_cast<double>(tokens) / (res.prefill_seconds + res.decode_seconds));
            cpuRates.push_back(static_cast<double>(tokens) / cpu);
        }
        std::cout << "  " << (fast ? "fused  " : "generic") << " batch " << B << (B < 10 ? " " : "") << ": "
                  << fixed(median(rates), 0) << " tokens/s aggregate (" << fixed(median(rates) / B, 0)
                  << " per row; min " << fixed(*std::min_element(rates.begin(), rates.end()), 0) << ", max "
                  << fixed(*std::max_element(rates.begin(), rates.end()), 0) << "; "
                  << fixed(median(cpuRates), 0) << " per CPU-second)" << std::endl;
    }
}

void benchTraining(const core::llm::LlamaConfig& c, int seq, int batch, int steps, const std::string& device)
{
    const std::vector<double> secs = core::llm::timeTrainingSteps(c, seq, batch, steps, device);
    const double t = median(secs);
    const double tokensPerStep = static_cast<double>(batch) * seq;
    const double matmulParams = static_cast<double>(c.parameterCount()) - static_cast<double>(c.vocab_size) * c.dim
                                + (c.tie_embeddings ? static_cast<double>(c.vocab_size) * c.dim : 0.0)
                                - static_cast<double>(c.dim) * (2 * c.n_layers + 1);
    const double flops = (6.0 * matmulParams + 12.0 * c.n_layers * c.dim * seq) * tokensPerStep;
    std::cout << "  dim " << c.dim << ", " << c.n_layers << " layers, " << c.n_heads << " heads, vocab " << c.vocab_size
              << " (" << fixed(static_cast<double>(c.parameterCount()) / 1e6, 2) << " M params), batch " << batch
              << " x seq " << seq << ": " << fixed(tokensPerStep / t, 0) << " tokens/s forward+backward, "
              << fixed(flops / t / 1e9, 2) << " GFLOP/s (" << fixed(t * 1000, 1) << " ms/step, median of " << steps
              << ")" << std::endl;
}

int runBenchLlm(const std::vector<std::string>& args)
{
    using namespace core::llm;
    Args a(args, {"model", "new-tokens", "batches", "repeats", "train-seq", "train-batch", "train-steps", "device"},
           {"help", "generic", "no-train"});
    if (a.has("help")) {
        std::cout << kUsage;
        return 0;
    }
    std::string model = a.get("model");
    if (model.empty()) {
        const std::string dir = defaultStories();
        if (dir.empty())
            throw std::invalid_argument("stories260K not found; pass --model PATH");
        model = dir + "/stories260K.bin";
    }
    const int newTokens = static_cast<int>(a.getInt("new-tokens", 256));
    const int repeats = static_cast<int>(a.getInt("repeats", 5));
    std::vector<int> batches;
    for (const auto& b : core::str::split(a.get("batches", "1,32"), ','))
        batches.push_back(std::stoi(b));

    const std::string device = a.get("device", "cpu");
    const auto dev = core::resolveDevice(device);
    LoadedModel lm = loadAnyModel(model);
    lm.model->to(dev);
    std::cout << "recalign bench llm: " << model << " (" << checkpointFormatName(lm.format) << ", dim "
              << lm.model->config().dim << ", " << lm.model->config().n_layers << " layers), device " << dev.str()
              << ", intra-op threads " << core::systemInfo().intra_op_threads << "\n";
    std::cout << "generation, greedy, " << newTokens << " new tokens from BOS, KV cache:" << std::endl;
    if (dev.is_cpu())
        benchGeneration(*lm.model, batches, newTokens, repeats, true);
    if (a.has("generic") || !dev.is_cpu())
        benchGeneration(*lm.model, batches, newTokens, repeats, false);
    if (!a.has("no-train")) {
        std::cout << "training step (forward+backward):" << std::endl;
        const int seq = static_cast<int>(a.getInt("train-seq", 256));
        const int batch = static_cast<int>(a.getInt("train-batch", 16));
        const int steps = static_cast<int>(a.getInt("train-steps", 5));
        LlamaConfig quick;
        quick.dim = 64;
        quick.hidden_dim = llamaHiddenDim(64);
        quick.n_layers = 4;
        quick.n_heads = 4;
        quick.n_kv_heads = 4;
        quick.vocab_size = 512;
        quick.max_seq_len = 512;
        benchTraining(quick, seq, batch, steps, device);
        LlamaConfig big = quick;
        big.dim = 256;
        big.hidden_dim = llamaHiddenDim(256);
        big.n_heads = 8;
        big.n_kv_heads = 8;
        benchTraining(big, seq, batch, steps, device);
    }
    std::cout << "peak RSS: " << fixed(peakRssMiB(), 1) << " MiB" << std::endl;
    return 0;
}

const SubcommandRegistrar kBenchLlmRegistrar({"bench", "llm",
                                              "generation tokens/s (stories260K, batch 1 and 32), training throughput",
                                              runBenchLlm});

}  // namespace bench_llm_detail
}  // namespace recalign::cli
