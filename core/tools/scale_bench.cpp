// `recalign bench scale`: a real geometry (random weights, generated once shard by shard) loaded,
// run and LoRA-trained on this machine, with time and memory for each part.
#include "core/api/error.h"
#include "core/api/info.h"
#include "core/api/llm_tools.h"
#include "core/llm/generation.h"
#include "core/llm/llama_config.h"
#include "core/llm/loaders.h"
#include "core/runtime/runtime.h"
#include "core/train/schedule.h"
#include "core/train/sequences.h"
#include "core/util/process.h"
#include "core/util/strings.h"

#include <c10/core/InferenceMode.h>
#include <torch/nn/functional/loss.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>

namespace recalign::core {

namespace scale_bench_detail {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

double secondsSince(Clock::time_point t0)
{
    return std::chrono::duration<double>(Clock::now() - t0).count();
}

std::string defaultDir(const std::string& shape, const std::string& dtype)
{
    const char* cache = std::getenv("XDG_CACHE_HOME");
    const char* home = std::getenv("HOME");
    const fs::path base = cache && *cache ? fs::path(cache) : fs::path(home && *home ? home : "/tmp") / ".cache";
    return (base / "recalign" / ("random-" + shape + "-" + dtype)).string();
}

std::string gib(double mib) { return str::fixed(mib / 1024.0, 2) + " GiB"; }

int benchScale(const BenchScaleRequest& a, std::ostream& out)
{
    const llm::LlamaConfig geometry = llm::namedGeometry(a.shape);
    const ModelConfig::DType storage = a.dtype == "bfloat16" ? ModelConfig::DType::BFloat16
        : a.dtype == "float32"                                ? ModelConfig::DType::Float32
                                                              : throw CoreException(ErrorCode::InvalidConfig,
                                                                     "--dtype: expected float32 or bfloat16, got '"
                                                                         + a.dtype + "'",
                                                                     "dtype");
    const torch::Dtype td = llm::storageScalarType(storage);
    const bool bf16 = storage == ModelConfig::DType::BFloat16;
    const torch::Device device = resolveDevice(a.device);
    const ThreadPlan plan = applyThreadPlan(a.threads, geometry.dim, bf16);
    const std::string dir = a.dir.empty() ? defaultDir(a.shape, a.dtype) : a.dir;
    out << "machine: " << machineInfo().describe() << "\n"
        << "geometry " << a.shape << ": dim " << geometry.dim << ", " << geometry.n_layers << " layers, "
        << geometry.n_heads << " heads (" << geometry.n_kv_heads << " kv), SwiGLU " << geometry.hidden_dim
        << ", vocab " << geometry.vocab_size << ", " << str::fixed(geometry.parameterCount() / 1e9, 2)
        << " B parameters; " << a.dtype << " on " << device.str() << ", " << plan.describe() << "\n";
    nlohmann::json fig;
    fig["shape"] = a.shape;
    fig["dtype"] = a.dtype;
    fig["machine"] = machineInfo().describe();

    // 1. The checkpoint: generated once (shard by shard), then reused.
    if (!fs::exists(fs::path(dir) / "config.json")) {
        const auto t0 = Clock::now();
        out << "writing random weights to " << dir << " ..." << std::endl;
        llm::writeRandomHfModel(geometry, dir, bf16 ? StDtype::BF16 : StDtype::F32, a.shard_mib << 20, {}, 0);
        out << "written in " << str::fixed(secondsSince(t0), 1) << " s (peak RSS " << gib(peakResidentMiB())
            << ")" << std::endl;
    }

    // 2. Load: streamed into the storage dtype, shard by shard.
    double runPeak = 0.0;  // the largest peak of the parts measured below
    resetPeakResident();
    const double rssBefore = residentMiB();
    auto t0 = Clock::now();
    int lastTenth = -1;
    llm::LlamaModel model = llm::loadHfModel(dir, td, [&](int64_t done, int64_t total) {
        const int tenth = static_cast<int>(10 * done / std::max<int64_t>(1, total));
        if (tenth != lastTenth) {
            lastTenth = tenth;
            out << "  loaded " << (done >> 20) << " / " << (total >> 20) << " MiB" << std::endl;
        }
    });
    if (device != torch::Device(torch::kCPU))
        model->to(device);
    const double loadSeconds = secondsSince(t0);
    const double loadPeak = peakResidentMiB();
    runPeak = std::max(runPeak, loadPeak);
    const double modelMiB = static_cast<double>(geometry.parameterCount()) * static_cast<double>(c10::elementSize(td))
        / (1024.0 * 1024.0);
    out << "load: " << str::fixed(loadSeconds, 1) << " s, peak RSS " << gib(loadPeak) << " (RSS before "
        << gib(rssBefore) << ", after " << gib(residentMiB()) << "; the weights themselves " << gib(modelMiB) << ")"
        << std::endl;
    fig["load_s"] = loadSeconds;
    fig["load_peak_rss_mib"] = loadPeak;
    fig["weights_mib"] = modelMiB;

    // The machine's matmul rate at this model's shapes in this dtype (the whole thread budget).
    const int T = a.tokens;
    const double peak = device.is_cpu() ? matmulGflops(llm::forwardGemmShapes(geometry, T), bf16, 2) : 0.0;
    const double N = static_cast<double>(geometry.parameterCount() - int64_t(geometry.vocab_size) * geometry.dim);
    auto rate = [&](double flops, double seconds) {
        const double g = flops / std::max(seconds, 1e-9) / 1e9;
        return str::fixed(g, 1) + " GFLOP/s" + (peak > 0 ? " = " + str::fixed(100.0 * g / peak, 0) + " % of the "
                                                               + a.dtype + " matmul rate at these shapes ("
                                                               + str::fixed(peak, 0) + ")"
                                                         : std::string());
    };
    torch::Tensor tokens = torch::randint(3, geometry.vocab_size, {1, T}, torch::kLong).to(device);

    // 3. Forward (prefill) and greedy generation with the KV cache.
    {
        c10::InferenceMode inference;
        model->forward(tokens.narrow(1, 0, std::min<int64_t>(T, 8)));  // warm-up
        t0 = Clock::now();
        model->forward(tokens);
        const double s = secondsSince(t0);
        out << "forward, " << T << " tokens: " << str::fixed(s, 2) << " s = " << str::fixed(T / s, 1)
            << " tokens/s, " << rate(2.0 * N * T, s) << std::endl;
        fig["forward_tokens_per_s"] = T / s;
    }
    {
        std::vector<std::vector<int32_t>> prompt(1);
        for (int64_t i = 0; i < T; ++i)
            prompt[0].push_back(static_cast<int32_t>(tokens[0][i].item<int64_t>()));
        llm::GenerationConfig gc;
        gc.max_new_tokens = a.new_tokens;
        gc.min_new_tokens = a.new_tokens;
        gc.temperature = 0.0;
        const auto r = llm::generate(*model, prompt, gc);
        out << "RSS after the forward and generation: " << gib(residentMiB()) << "\n";
        out << "generation: " << r.tokens[0].size() << " new tokens after a " << T << "-token prompt: prefill "
            << str::fixed(r.prefill_seconds, 2) << " s, decode " << str::fixed(r.decode_seconds, 2) << " s = "
            << str::fixed(static_cast<double>(r.steps) / std::max(r.decode_seconds, 1e-9), 2) << " tokens/s"
            << std::endl;
        fig["decode_tokens_per_s"] = static_cast<double>(r.steps) / std::max(r.decode_seconds, 1e-9);
    }

    // 4. One LoRA SFT step (r 16 on every linear but the head, AdamW), with and without gradient
    // checkpointing; LoRA's work counted as 4·N·T (forward and the activations' backward), plus
    // 2·N·T for the recomputation.
    llm::LoraSpec spec;
    spec.r = 16;
    spec.alpha = 8;
    spec.dropout = 0.1;
    spec.targets = llm::parseLoraTargets({"all-linear"});
    model->addAdapter("sft", spec);
    model->setActiveAdapter("sft");
    model->setBaseTrainable(false);
    model->train();
    auto optimizer = makeAdamW(model->namedAdapterParameters("sft"), AdamWSettings{});
    auto step = [&](bool checkpoint) {
        resetPeakResident();
        const double before = residentMiB();
        const auto s0 = Clock::now();
        llm::ForwardOptions fo;
        fo.checkpoint_layers = checkpoint;
        optimizer->zero_grad();
        const auto logits = model->forward(tokens, {}, fo).logits;
        const auto loss = torch::nn::functional::cross_entropy(
            logits.narrow(1, 0, T - 1).reshape({-1, logits.size(-1)}), tokens.narrow(1, 1, T - 1).reshape({-1}));
        loss.backward();
        optimizer->step();
        const double s = secondsSince(s0);
        const double grown = peakResidentMiB() - before;
        runPeak = std::max(runPeak, peakResidentMiB());
        out << "LoRA SFT step, " << T << " tokens, gradient checkpointing " << (checkpoint ? "on" : "off") << ": "
            << str::fixed(s, 2) << " s = " << str::fixed(T / s, 1) << " tokens/s, "
            << rate((checkpoint ? 6.0 : 4.0) * N * T, s) << "; peak RSS " << gib(peakResidentMiB()) << " (+"
            << str::fixed(grown, 0) << " MiB over the step)" << std::endl;
        fig[checkpoint ? "sft_step_checkpointed" : "sft_step"] = {
            {"seconds", s}, {"peak_rss_mib", peakResidentMiB()}, {"step_growth_mib", grown}};
    };
    // Each setting twice: a first step also allocates (the optimizer's moments, fresh activation
    // memory); the second is the steady state.
    step(true);
    step(true);
    step(false);
    step(false);
    // 5. One PPO-shaped iteration as the trainer runs it: the SFT adapter stacked (the reference),
    // actor and critic LoRA (r 4 on every linear but the head) and a value head; rollout = 2
    // sampled responses of new_tokens after a T/2-token prompt and the three scoring forwards
    // (actor, reference, critic); learning = one epoch at micro-batch 1 (actor and critic forward
    // and backward per response, with gradient checkpointing) and one AdamW step. No reward model:
    // the losses stand in for PPO's, with the same work.
    {
        model->stackAdapter("sft");
        llm::LoraSpec small = spec;
        small.r = 4;
        small.alpha = 2;
        small.dropout = 0.0;
        model->addAdapter("actor", small);
        model->addAdapter("critic", small);
        ValueHead head(geometry.dim, 64, 7);
        head->to(device);
        std::vector<std::pair<std::string, torch::Tensor>> trainable = model->namedAdapterParameters("actor");
        for (auto& p : model->namedAdapterParameters("critic"))
            trainable.push_back(p);
        for (const auto& p : head->named_parameters())
            trainable.emplace_back("head." + p.key(), p.value());
        auto ppoOpt = makeAdamW(trainable, AdamWSettings{});
        resetPeakResident();
        const auto r0 = Clock::now();
        std::vector<int32_t> prompt;
        for (int64_t i = 0; i < std::max<int64_t>(1, T / 2); ++i)
            prompt.push_back(static_cast<int32_t>(tokens[0][i].item<int64_t>()));
        model->eval();
        llm::GenerationConfig gc;
        gc.max_new_tokens = a.new_tokens;
        gc.min_new_tokens = a.new_tokens;
        gc.temperature = 1.0;
        gc.adapter = "actor";
        const auto gen = llm::generate(*model, {prompt, prompt}, gc);
        const auto packed = packSequences({prompt, prompt}, gen.tokens, 0, device);
        {
            torch::NoGradGuard noGrad;
            ScoreOptions actor;
            actor.adapter = "actor";
            scoreSequences(*model, packed, actor);
            ScoreOptions reference;  // adapters disabled: base + the stacked SFT adapter
            scoreSequences(*model, packed, reference);
            ScoreOptions critic;
            critic.adapter = "critic";
            critic.want_logprobs = false;
            critic.value_head = head.get();
            scoreSequences(*model, packed, critic);
        }
        const double rollout = secondsSince(r0);
        const auto l0 = Clock::now();
        model->train();
        ppoOpt->zero_grad();
        for (size_t r = 0; r < gen.tokens.size(); ++r) {
            const auto one = packSequences({prompt}, {gen.tokens[r]}, 0, device);
            ScoreOptions actor;
            actor.adapter = "actor";
            actor.checkpoint_layers = true;
            ScoreOptions critic;
            critic.adapter = "critic";
            critic.want_logprobs = false;
            critic.value_head = head.get();
            critic.checkpoint_layers = true;
            const auto loss = -scoreSequences(*model, one, actor).logprobs.sum() * 0.01
                + scoreSequences(*model, one, critic).values.pow(2).mean();
            loss.backward();
        }
        ppoOpt->step();
        const double learning = secondsSince(l0);
        runPeak = std::max(runPeak, peakResidentMiB());
        out << "PPO-shaped iteration (2 responses of " << a.new_tokens << " tokens): rollout "
            << str::fixed(rollout, 2) << " s (generation " << str::fixed(gen.prefill_seconds + gen.decode_seconds, 2)
            << " s + 3 scoring forwards), learning " << str::fixed(learning, 2)
            << " s (actor and critic, checkpointed); peak RSS " << gib(peakResidentMiB()) << std::endl;
        fig["ppo_iteration"] = {{"rollout_s", rollout}, {"learning_s", learning}, {"peak_rss_mib", peakResidentMiB()}};
    }
    out << "peak RSS of the parts measured: " << gib(runPeak) << std::endl;
    fig["peak_rss_mib"] = runPeak;

    if (!a.json_out.empty()) {
        std::ofstream j(a.json_out);
        j << fig.dump(2) << "\n";
    }
    return 0;
}

}  // namespace scale_bench_detail

ToolStatus runBenchScale(const BenchScaleRequest& request, std::ostream& out)
{
    return catchTool([&] { return scale_bench_detail::benchScale(request, out); });
}

}  // namespace recalign::core
