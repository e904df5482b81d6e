// `recalign bench llm`: greedy generation tokens/s on stories260K at batch 1 and 32 (256 new
// tokens, KV cache; fused CPU path, optionally the generic torch path), forward+backward tokens/s
// and achieved GFLOP/s for the quickstart model size and a dim-256 model, and the peak RSS.
#include "app/cli/command.h"

#include "core/api/llm_tools.h"
#include "core/util/strings.h"

#include <cstdlib>
#include <filesystem>
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
    fs::path exe = selfExecutable();
    for (int up = 0; up < 5 && !exe.empty() && exe.has_parent_path(); ++up) {
        exe = exe.parent_path();
        candidates.push_back(exe / "shared/models/stories260K");
        candidates.push_back(exe / "../shared/models/stories260K");
    }
    for (const auto& c : candidates)
        if (fs::exists(c / "stories260K.bin", ec))
            return c.lexically_normal().string();
    return {};
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

int runBenchLlm(const std::vector<std::string>& args)
{
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
    core::BenchLlmRequest request;
    request.model = model;
    request.new_tokens = static_cast<int>(a.getInt("new-tokens", 256));
    request.repeats = static_cast<int>(a.getInt("repeats", 5));
    request.batches.clear();
    for (const auto& b : core::str::split(a.get("batches", "1,32"), ','))
        request.batches.push_back(std::stoi(b));
    request.device = a.get("device", "cpu");
    request.generic = a.has("generic");
    request.train = !a.has("no-train");
    request.train_seq = static_cast<int>(a.getInt("train-seq", 256));
    request.train_batch = static_cast<int>(a.getInt("train-batch", 16));
    request.train_steps = static_cast<int>(a.getInt("train-steps", 5));
    if (const int code = toolExitCode(core::runBenchLlm(request, std::cout)); code != 0)
        return code;
    std::cout << "peak RSS: " << fixed(peakRssMiB(), 1) << " MiB" << std::endl;
    return 0;
}

const SubcommandRegistrar kBenchLlmRegistrar({"bench", "llm",
                                              "generation tokens/s (stories260K, batch 1 and 32), training throughput",
                                              runBenchLlm});

}  // namespace bench_llm_detail
}  // namespace recalign::cli
