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

// Dense peak (TFLOP/s, bf16 tensor cores, no sparsity) and memory bandwidth (GB/s) of the GPUs
// whose data sheets we know, by the name the driver gives; zeros when unknown.
std::pair<double, double> knownGpuLimits(const std::string& name)
{
    const auto has = [&](const char* s) { return name.find(s) != std::string::npos; };
    if (has("H200"))
        return {989.0, 4800.0};
    if (has("H100") && has("PCIe"))
        return {756.0, 2000.0};
    if (has("H100") && has("NVL"))
        return {835.0, 3900.0};
    if (has("H100"))
        return {989.0, 3350.0};
    if (has("A100"))
        return {312.0, has("40GB") ? 1555.0 : 2039.0};
    return {0.0, 0.0};
}

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
    fig["device"] = deviceName(device);
    // Written after every part, so that a run cut short still leaves its figures.
    const auto writeJson = [&] {
        if (a.json_out.empty())
            return;
        std::ofstream j(a.json_out);
        j << fig.dump(2) << "\n";
    };
    double peakTflops = a.peak_tflops, bandwidth = a.bandwidth_gbs;
    if (device.is_cuda()) {
        const auto known = knownGpuLimits(deviceName(device));
        if (peakTflops <= 0.0 && bf16)
            peakTflops = known.first;
        if (bandwidth <= 0.0)
            bandwidth = known.second;
        out << "device: " << deviceName(device) << "; dense " << a.dtype << " peak "
            << (peakTflops > 0 ? str::fixed(peakTflops, 0) + " TFLOP/s" : std::string("unknown (--peak-tflops)"))
            << ", memory bandwidth "
            << (bandwidth > 0 ? str::fixed(bandwidth, 0) + " GB/s" : std::string("unknown (--bandwidth-gbs)")) << "\n";
        fig["peak_tflops"] = peakTflops;
        fig["bandwidth_gbs"] = bandwidth;
    }
    // The device's memory figures for one part: printed and recorded (CUDA only).
    const auto deviceMemoryNote = [&](nlohmann::json& part) -> std::string {
        synchronizeDevice(device);
        const DeviceMemory m = deviceMemory(device);
        if (!m.available)
            return {};
        part["max_memory_reserved_mib"] = m.peak_reserved_mib;
        part["max_memory_allocated_mib"] = m.peak_allocated_mib;
        return "; peak GPU memory reserved " + gib(m.peak_reserved_mib) + " (allocated " + gib(m.peak_allocated_mib) + ")";
    };

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
    if (const std::string note = deviceMemoryNote(fig); !note.empty())
        out << "after loading" << note << std::endl;
    writeJson();

    // The machine's matmul rate at this model's shapes in this dtype (the whole thread budget) on
    // the CPU; the device's dense peak on a GPU.
    const int T = a.tokens, B = a.batch;
    const double peak = device.is_cpu() ? matmulGflops(llm::forwardGemmShapes(geometry, B * T), bf16, 2) : 0.0;
    const double N = static_cast<double>(geometry.parameterCount() - int64_t(geometry.vocab_size) * geometry.dim);
    // "X GFLOP/s = Y % of ..." and the fraction (0 when there is nothing to compare with).
    auto rate = [&](double flops, double seconds, nlohmann::json& part) {
        const double g = flops / std::max(seconds, 1e-9) / 1e9;
        part["gflops"] = g;
        if (peak > 0) {
            part["fraction_of_matmul_rate"] = g / peak;
            return str::fixed(g, 1) + " GFLOP/s = " + str::fixed(100.0 * g / peak, 0) + " % of the " + a.dtype
                + " matmul rate at these shapes (" + str::fixed(peak, 0) + ")";
        }
        if (peakTflops > 0) {
            part["mfu"] = g / (peakTflops * 1e3);
            return str::fixed(g / 1e3, 1) + " TFLOP/s = MFU " + str::fixed(100.0 * g / (peakTflops * 1e3), 1)
                + " % of the dense " + a.dtype + " peak (" + str::fixed(peakTflops, 0) + " TFLOP/s)";
        }
        return str::fixed(g, 1) + " GFLOP/s";
    };
    const auto randomTokens = [&](int64_t rows, int64_t length) {
        return torch::randint(3, geometry.vocab_size, {rows, length}, torch::kLong).to(device);
    };
    const auto hostRows = [](const torch::Tensor& t) {
        const torch::Tensor h = t.to(torch::kCPU).contiguous();
        const auto ids = h.accessor<int64_t, 2>();  // one copy, no per-element tensor
        std::vector<std::vector<int32_t>> rows(static_cast<size_t>(h.size(0)));
        for (int64_t r = 0; r < h.size(0); ++r)
            for (int64_t i = 0; i < h.size(1); ++i)
                rows[static_cast<size_t>(r)].push_back(static_cast<int32_t>(ids[r][i]));
        return rows;
    };
    torch::Tensor tokens = randomTokens(B, T);

    // 3. Forward (prefill) of the SFT batch.
    {
        c10::InferenceMode inference;
        model->forward(tokens.narrow(1, 0, std::min<int64_t>(T, 8)));  // warm-up
        resetDevicePeakMemory(device);
        synchronizeDevice(device);
        t0 = Clock::now();
        model->forward(tokens);
        synchronizeDevice(device);
        const double s = secondsSince(t0);
        nlohmann::json part;
        part["tokens_per_s"] = B * T / s;
        const std::string r = rate(2.0 * N * B * T, s, part);
        out << "forward, " << B << " x " << T << " tokens: " << str::fixed(s, 3) << " s = " << str::fixed(B * T / s, 1)
            << " tokens/s, " << r << deviceMemoryNote(part) << std::endl;
        fig["forward"] = part;
        fig["forward_tokens_per_s"] = B * T / s;
        writeJson();
    }
    // 4. Generation with the KV cache at each batch size: greedy, every row the full --new-tokens.
    // Batch 1 against the memory-bandwidth limit (every weight read once per token); on a GPU also
    // with every step's logits on the host (the loop sampling and constraints need) for comparison.
    {
        const int64_t P = std::max<int64_t>(1, std::min<int64_t>(a.gen_prompt_tokens, geometry.max_seq_len - a.new_tokens));
        const double weightBytes = static_cast<double>(geometry.parameterCount()) * c10::elementSize(td);
        nlohmann::json parts = nlohmann::json::array();
        for (int gb : a.gen_batches) {
            const auto prompts = hostRows(randomTokens(gb, P));
            std::vector<llm::GenerationConfig::DecodeLoop> loops{llm::GenerationConfig::DecodeLoop::Auto};
            if (gb == 1 && !device.is_cpu())
                loops.push_back(llm::GenerationConfig::DecodeLoop::Host);
            for (const auto loop : loops) {
                llm::GenerationConfig gc;
                gc.max_new_tokens = a.new_tokens;
                gc.min_new_tokens = a.new_tokens;
                gc.temperature = 0.0;
                gc.decode_loop = loop;
                resetDevicePeakMemory(device);
                const auto r = llm::generate(*model, prompts, gc);
                const double perSecond = static_cast<double>(gb) * r.steps / std::max(r.decode_seconds, 1e-9);
                nlohmann::json part = {{"batch", gb}, {"prompt_tokens", P}, {"new_tokens", r.steps},
                                       {"prefill_s", r.prefill_seconds}, {"decode_s", r.decode_seconds},
                                       {"tokens_per_s", perSecond},
                                       {"decode_loop", loop == llm::GenerationConfig::DecodeLoop::Host ? "host" : "auto"}};
                std::string limit;
                if (gb == 1 && bandwidth > 0) {
                    const double bound = bandwidth * 1e9 / weightBytes;
                    part["bandwidth_bound_tokens_per_s"] = bound;
                    part["fraction_of_bandwidth_bound"] = perSecond / bound;
                    limit = "; " + str::fixed(100.0 * perSecond / bound, 0) + " % of the bandwidth bound ("
                        + str::fixed(bound, 0) + " tokens/s = " + str::fixed(bandwidth, 0) + " GB/s over "
                        + gib(weightBytes / (1024.0 * 1024.0)) + " of weights)";
                }
                out << "generation, batch " << gb << (loop == llm::GenerationConfig::DecodeLoop::Host ? " (host loop)" : "")
                    << ": " << r.steps << " new tokens after a " << P << "-token prompt: prefill "
                    << str::fixed(r.prefill_seconds, 2) << " s, decode " << str::fixed(r.decode_seconds, 2) << " s = "
                    << str::fixed(perSecond, 1) << " tokens/s" << limit << deviceMemoryNote(part) << std::endl;
                if (gb == a.gen_batches.front() && loop == llm::GenerationConfig::DecodeLoop::Auto)
                    fig["decode_tokens_per_s"] = perSecond;
                parts.push_back(part);
                fig["generation"] = parts;
                writeJson();
            }
        }
        out << "RSS after the forward and generation: " << gib(residentMiB()) << "\n";
    }

    // 5. One LoRA SFT step on the batch (r 16 on every linear but the head, AdamW), with and
    // without gradient checkpointing; LoRA's work counted as 4·N·tokens (forward and the
    // activations' backward; the base is frozen, so no weight gradients), plus 2·N·tokens for the
    // recomputation.
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
        resetDevicePeakMemory(device);
        const double before = residentMiB();
        synchronizeDevice(device);
        const auto s0 = Clock::now();
        llm::ForwardOptions fo;
        fo.checkpoint_layers = checkpoint;
        optimizer->zero_grad();
        const auto logits = model->forward(tokens, {}, fo).logits;
        const auto loss = torch::nn::functional::cross_entropy(
            logits.narrow(1, 0, T - 1).reshape({-1, logits.size(-1)}), tokens.narrow(1, 1, T - 1).reshape({-1}));
        loss.backward();
        optimizer->step();
        synchronizeDevice(device);
        const double s = secondsSince(s0);
        const double grown = peakResidentMiB() - before;
        runPeak = std::max(runPeak, peakResidentMiB());
        nlohmann::json part = {{"seconds", s}, {"tokens_per_s", B * T / s}, {"batch", B}, {"tokens", T},
                               {"peak_rss_mib", peakResidentMiB()}, {"step_growth_mib", grown}};
        const std::string r = rate((checkpoint ? 6.0 : 4.0) * N * B * T, s, part);
        out << "LoRA SFT step, " << B << " x " << T << " tokens, gradient checkpointing " << (checkpoint ? "on" : "off")
            << ": " << str::fixed(s, 2) << " s = " << str::fixed(B * T / s, 1) << " tokens/s, " << r << "; peak RSS "
            << gib(peakResidentMiB()) << " (+" << str::fixed(grown, 0) << " MiB over the step)" << deviceMemoryNote(part)
            << std::endl;
        fig[checkpoint ? "sft_step_checkpointed" : "sft_step"] = part;
        writeJson();
    };
    // Each setting twice: a first step also allocates (the optimizer's moments, fresh activation
    // memory); the second is the steady state.
    step(true);
    step(true);
    step(false);
    step(false);
    // 6. One PPO-shaped iteration as the trainer runs it: the SFT adapter stacked (the reference),
    // actor and critic LoRA (r 4 on every linear but the head) and a value head, one base; rollout =
    // prompts x samples sampled responses of up to new_tokens after a T/2-token prompt and the three
    // scoring forwards (actor, reference, critic); learning = one epoch at --ppo-micro-batch (actor
    // and critic forward and backward, with gradient checkpointing) and one AdamW step. No reward
    // model: the losses stand in for PPO's, with the same work.
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
        resetDevicePeakMemory(device);
        synchronizeDevice(device);
        const auto r0 = Clock::now();
        std::vector<std::vector<int32_t>> prompts;
        for (const auto& p : hostRows(randomTokens(a.ppo_prompts, std::max(1, T / 2))))
            for (int k = 0; k < a.ppo_samples; ++k)
                prompts.push_back(p);
        model->eval();
        llm::GenerationConfig gc;
        gc.max_new_tokens = a.new_tokens;
        gc.min_new_tokens = a.new_tokens;
        gc.temperature = 1.0;
        gc.adapter = "actor";
        const auto gen = llm::generate(*model, prompts, gc);
        const auto packed = packSequences(prompts, gen.tokens, 0, device);
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
        synchronizeDevice(device);
        const double rollout = secondsSince(r0);
        const auto l0 = Clock::now();
        model->train();
        ppoOpt->zero_grad();
        const size_t mb = static_cast<size_t>(std::max(1, a.ppo_micro_batch));
        for (size_t r = 0; r < gen.tokens.size(); r += mb) {
            const size_t e = std::min(gen.tokens.size(), r + mb);
            const auto one = packSequences({prompts.begin() + static_cast<std::ptrdiff_t>(r), prompts.begin() + static_cast<std::ptrdiff_t>(e)},
                                           {gen.tokens.begin() + static_cast<std::ptrdiff_t>(r), gen.tokens.begin() + static_cast<std::ptrdiff_t>(e)},
                                           0, device);
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
        synchronizeDevice(device);
        const double learning = secondsSince(l0);
        runPeak = std::max(runPeak, peakResidentMiB());
        nlohmann::json part = {{"prompts", a.ppo_prompts}, {"samples", a.ppo_samples}, {"new_tokens", a.new_tokens},
                               {"micro_batch", static_cast<int64_t>(mb)}, {"rollout_s", rollout},
                               {"generation_s", gen.prefill_seconds + gen.decode_seconds}, {"learning_s", learning},
                               {"peak_rss_mib", peakResidentMiB()}};
        out << "PPO-shaped iteration (" << a.ppo_prompts << " prompts x " << a.ppo_samples << " samples, "
            << a.new_tokens << " new tokens after " << std::max(1, T / 2) << "): rollout " << str::fixed(rollout, 2)
            << " s (generation " << str::fixed(gen.prefill_seconds + gen.decode_seconds, 2)
            << " s + 3 scoring forwards), learning " << str::fixed(learning, 2) << " s (actor and critic, checkpointed, "
            << mb << " per micro-batch); peak RSS " << gib(peakResidentMiB()) << deviceMemoryNote(part) << std::endl;
        fig["ppo_iteration"] = part;
        writeJson();
    }
    out << "peak RSS of the parts measured: " << gib(runPeak) << std::endl;
    fig["peak_rss_mib"] = runPeak;
    writeJson();
    return 0;
}

}  // namespace scale_bench_detail

ToolStatus runBenchScale(const BenchScaleRequest& request, std::ostream& out)
{
    return catchTool([&] { return scale_bench_detail::benchScale(request, out); });
}

}  // namespace recalign::core
