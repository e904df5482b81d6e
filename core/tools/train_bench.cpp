// `recalign bench train` (core/api/llm_tools.h), moved from app/cli: SFT throughput (tokens/s) and
// PPO seconds per iteration, split into rollout (generation + reward + scoring forwards) and
// learning, for the quickstart-size model (experiments/quickstart.yaml: dim 64, 4 layers, 4 heads,
// compact chat template, a 512-piece BPE tokenizer trained on the catalogue, synthetic data with
// 200 items and 300 users). The model is randomly initialised: throughput does not depend on
// pre-training.
#include "core/api/info.h"
#include "core/api/launch.h"
#include "core/api/llm_tools.h"

#include "core/data/synthetic.h"
#include "core/dist/dist.h"
#include "core/llm/chat_template.h"
#include "core/llm/llama_model.h"
#include "core/llm/pretrain.h"
#include "core/rules/builders.h"
#include "core/rules/title_lookup.h"
#include "core/runtime/runtime.h"
#include "core/train/ppo_trainer.h"
#include "core/train/recommendation_rl.h"
#include "core/train/sft_trainer.h"
#include "core/util/files.h"
#include "core/util/strings.h"

#include <nlohmann/json.hpp>

#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <mutex>
#include <sstream>

namespace recalign::core {

namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

// Collects step records (thread-safe enough for the single worker used here).
class CollectingObserver : public core::Observer {
public:
    std::vector<core::StepRecord> steps;
    void onStep(const core::StepRecord& r) override
    {
        std::lock_guard<std::mutex> lock(m_mutex);
        steps.push_back(r);
    }
    double metric(const core::StepRecord& r, const std::string& name) const
    {
        for (const auto& [k, v] : r.metrics)
            if (k == name)
                return v;
        return 0.0;
    }

private:
    std::mutex m_mutex;
};

// This run's figures as ratios to an earlier run's (--compare): > 1 is better for throughput,
// < 1 for seconds; the machines' matmul rates show whether a ratio comes from the machine.
void printComparison(const nlohmann::json& base, const nlohmann::json& now, std::ostream& out)
{
    out << "compared with the baseline (" << base.value("machine", std::string("unknown machine")) << "):\n";
    auto ratio = [&](const char* key, const char* what, bool higherIsBetter) {
        const double b = base.value(key, 0.0), n = now.value(key, 0.0);
        if (b <= 0 || n <= 0)
            return;
        out << "  " << what << ": " << core::str::fixed(n, 2) << " vs " << core::str::fixed(b, 2) << " = "
            << core::str::fixed(n / b, 2) << "x" << (higherIsBetter ? "" : " (" + core::str::fixed(b / n, 2) + "x faster)")
            << "\n";
    };
    ratio("sft_tokens_per_s", "SFT tokens/s", true);
    ratio("ppo_s_per_iteration", "PPO s/iteration", false);
    ratio("ppo_rollout_s", "PPO rollout s", false);
    ratio("ppo_generation_s", "PPO generation s", false);
    ratio("ppo_scoring_s", "PPO scoring forwards s", false);
    ratio("ppo_learn_s", "PPO learning s", false);
    ratio("matmul_fp32_gflops", "machine float32 matmul GFLOP/s", true);
    ratio("matmul_bf16_gflops", "machine bfloat16 matmul GFLOP/s", true);
}

int benchTrain(const BenchTrainRequest& a, std::ostream& shownOut)
{
    // Launched as a data-parallel job (bench train --nproc, torchrun): SFT splits its batches over
    // the ranks; rank 0 reports.
    const dist::Placement placement = dist::placementFromEnvironment();
    DistributedConfig gloo = defaultExperiment().distributed;
    gloo.backend = DistributedConfig::Backend::Gloo;
    dist::init(placement, gloo, torch::Device(torch::kCPU));
    std::ostringstream quiet;
    std::ostream& out = dist::isWriter() ? shownOut : quiet;
    const long sftSteps = a.sft_steps;
    const long ppoIterations = a.ppo_iterations;
    core::seedTorch(0);
    const auto device = core::resolveDevice(a.device);
    const auto compute = core::llm::resolveComputeDtype(core::llm::parseComputeDtype(a.compute_dtype), device.is_cuda());
    const bool bf16 = compute == core::ModelConfig::ComputeDType::BFloat16;
    // The budget split as a run splits it (core/api/info.h).
    const int budget = a.threads > 0 ? a.threads : core::localCoreBudget();
    const core::ThreadPlan plan = core::applyThreadPlan(budget, a.dim, bf16);
    const int threads = budget;

    // Data, teacher and tokenizer as the quickstart builds them.
    core::SyntheticOptions so;
    so.seed = 1;
    so.items = 200;
    so.users = 300;
    so.top_categories = 6;
    so.subcategories_per_top = 1;
    so.min_sequence_length = 8;
    so.max_sequence_length = 20;
    const core::Dataset data = core::generateSynthetic(so);
    core::MostPopTeacher teacher(data);
    core::TitleLookup lookup(data);
    core::SftOptions sftData;
    sftData.mix = core::SftMix::V2;
    sftData.share_gpt_ratio = 0.0;
    sftData.task.seed = 1;
    const auto epoch0 = core::buildSftEpoch(data, &teacher, sftData, 0);

    const fs::path tmp = fs::temp_directory_path() / ("recalign-bench-train-" + std::to_string(::getpid()));
    fs::create_directories(tmp);
    std::vector<std::string> docs;
    for (core::ItemId i = 1; i <= data.numItems(); ++i)
        docs.push_back(data.title(i));
    for (const auto& s : epoch0)
        docs.push_back(core::llm::renderChat(core::toConversation(s.prompt), core::llm::ChatTemplate::Compact) + " "
                       + s.output_text);
    const core::TokenizerTrainOptions to =
        core::llm::llamaTokenizerOptions(512, core::llm::chatTemplateSymbols(core::llm::ChatTemplate::Compact));
    const auto t0 = Clock::now();
    const core::Tokenizer tok = core::llm::trainTokenizerOnCorpus(docs, (tmp / "tok").string(), to);
    out << "tokenizer: " << tok.vocabSize() << " pieces trained on " << docs.size() << " documents in "
              << core::str::fixed(std::chrono::duration<double>(Clock::now() - t0).count(), 1) << " s\n";

    core::ModelConfig arch;
    arch.dim = a.dim;
    arch.n_layers = a.layers;
    arch.n_heads = a.heads;
    arch.vocab_size = tok.vocabSize();
    arch.max_seq_len = 512;
    const core::llm::LlamaConfig mc = core::llm::fromScratchLlamaConfig(arch);
    out << "model: dim " << mc.dim << ", " << mc.n_layers << " layers, " << mc.n_heads << " heads, vocab "
              << mc.vocab_size << " (" << mc.parameterCount() << " parameters), " << threads << " threads ("
              << plan.describe() << "), device " << device.str() << "\n";
    const core::MachineInfo machine = core::machineInfo();
    out << "machine: " << machine.describe() << "\nallocator: " << core::applyAllocatorPolicy().describe() << "\n";
    nlohmann::json figures;
    figures["machine"] = machine.describe();
    figures["model"] = {{"dim", mc.dim}, {"layers", mc.n_layers}, {"heads", mc.n_heads}, {"threads", threads},
                          {"torch_threads", plan.torch_threads}, {"blas_threads", plan.blas_threads}};
    figures["compute_dtype"] = core::llm::computeDtypeName(compute);
    figures["gradient_checkpointing"] = a.gradient_checkpointing;

    // ---- SFT ----------------------------------------------------------------------------------
    {
        core::llm::LlamaModel model(mc);
        core::llm::initLlamaWeights(*model, 0);
        model->to(device);
        model->setComputeDtype(compute);
        core::SftTrainConfig c;
        c.stage = "bench_sft";
        c.hyper.full_finetune = true;
        c.hyper.gradient_checkpointing = a.gradient_checkpointing;
        c.chat_template = core::llm::ChatTemplate::Compact;
        c.hyper.batch = a.batch;
        c.hyper.grad_accum = 1;
        c.hyper.epochs = 1;
        c.max_steps = sftSteps;
        c.hyper.max_prompt_tokens = 320;
        c.hyper.max_output_tokens = 160;
        c.val_every_epochs = 0;
        c.hyper.selection_metric = core::SftConfig::Selection::Last;
        c.data = sftData;
        CollectingObserver obs;
        core::SftTrainer trainer(*model, tok, data, &teacher, lookup, c, obs);
        trainer.setEpochSource([&](int) { return epoch0; });
        // The machine's matmul rate at this model's GEMM shapes: rows = tokens of one micro-batch.
        std::vector<const core::Sample*> first;
        for (size_t i = 0; i < std::min(epoch0.size(), static_cast<size_t>(c.hyper.batch)); ++i)
            first.push_back(&epoch0[i]);
        const long rows = core::makeSftBatch(first, tok, c, device).tokens;
        const auto shapes = core::llm::forwardGemmShapes(mc, static_cast<int>(rows));
        // The machine's rate: the whole budget to both pools (float32 products run in OpenBLAS,
        // bfloat16 ones in oneDNN on torch's pool), then the run's plan again.
        double peak32 = 0.0, peak16 = 0.0;
        if (device.is_cpu()) {
            core::setComputeThreads(budget, budget);
            peak32 = core::matmulGflops(shapes, false);
            peak16 = core::matmulGflops(shapes, true);
            core::setComputeThreads(plan.torch_threads, plan.blas_threads);
        }
        if (device.is_cpu())
            out << "matmul at this model's shapes (" << rows << " rows, " << threads << " threads): float32 "
                << core::str::fixed(peak32, 1) << " GFLOP/s, bfloat16 " << core::str::fixed(peak16, 1) << " GFLOP/s\n";
        const auto r = trainer.run();
        const double seq = static_cast<double>(rows) / std::max<size_t>(1, first.size());
        const double gflops = core::llm::trainingFlopsPerToken(mc, static_cast<int>(seq)) * r.tokens_per_second / 1e9;
        // Data parallel: the tokens of every rank against every rank's rate.
        const double peak = (bf16 ? peak16 : peak32) * dist::world();
        out << "SFT (" << core::llm::computeDtypeName(compute) << " products): " << r.steps << " optimizer steps of "
                  << c.hyper.batch << " samples: "
                  << core::str::fixed(r.tokens_per_second, 0) << " tokens/s (prompt + reply tokens, forward + backward + "
                  << "AdamW) = " << core::str::fixed(gflops, 1) << " GFLOP/s"
                  << (peak > 0 ? " = " + core::str::fixed(100.0 * gflops / peak, 0) + " % of the "
                                     + core::llm::computeDtypeName(compute) + " matmul rate"
                               : "")
                  << ", loss " << core::str::fixed(obs.metric(obs.steps.front(), "loss"), 3) << " -> "
                  << core::str::fixed(r.last_loss, 3) << "\n";
        figures["matmul_fp32_gflops"] = peak32;
        figures["matmul_bf16_gflops"] = peak16;
        figures["sft_tokens_per_s"] = r.tokens_per_second;
        figures["sft_gflops"] = gflops;
        figures["sft_fraction_of_matmul_rate"] = peak > 0 ? gflops / peak : 0.0;
        figures["world_size"] = dist::world();
        if (dist::active()) {
            const double perStep = dist::commSeconds() / std::max<long>(1, r.steps);
            // The all-reduce alone: the gradients' size, after a barrier, five times.
            std::vector<torch::Tensor> grads;
            for (const auto& p : model->parameters())
                grads.push_back(torch::zeros_like(p));
            dist::barrier();
            const double before = dist::commSeconds();
            for (int i = 0; i < 5; ++i)
                dist::allreduceSum(grads);
            const double alone = (dist::commSeconds() - before) / 5.0;
            figures["sft_comm_s_per_step"] = perStep;
            figures["allreduce_s"] = alone;
            out << "data parallel: " << dist::describe() << ", global batch " << c.hyper.batch << "; in collectives "
                << core::str::fixed(1000.0 * perStep, 1) << " ms per step (waiting for the slower rank included); the "
                << "all-reduce of the " << mc.parameterCount() << " gradients alone " << core::str::fixed(1000.0 * alone, 1)
                << " ms\n";
        }
    }
    if (ppoIterations <= 0) {
        if (dist::isWriter() && !a.json_out.empty())
            core::writeFileAtomic(a.json_out, figures.dump(2) + "\n", core::ErrorCode::Internal);
        std::error_code ec;
        fs::remove_all(tmp, ec);
        dist::shutdown();
        return 0;
    }

    // ---- PPO ----------------------------------------------------------------------------------
    {
        core::llm::LlamaModel model(mc);
        core::llm::initLlamaWeights(*model, 0);
        model->to(device);
        model->setComputeDtype(compute);
        core::PpoTrainConfig c;
        c.stage = "bench_ppo";
        c.hyper.max_iterations = ppoIterations;
        c.hyper.gradient_checkpointing = a.gradient_checkpointing;
        c.hyper.prompts_per_batch = 8;
        c.hyper.samples_per_prompt = 2;
        c.hyper.ppo_epochs = 2;
        c.mini_batch = 1;
        c.hyper.grad_accum = 2;
        c.max_new_tokens = a.max_new_tokens;
        c.hyper.policy_kl_threshold = 0.0;  // always run every PPO epoch: a fixed amount of work
        c.hyper.lr = 1e-4;
        c.hyper.warmup_steps = 5;
        c.hyper.whiten_rewards = true;
        c.hyper.val_every = 0;
        core::TaskOptions rt;
        rt.seed = 1;
        core::RewardOptions ro;
        core::RecommendationReward reward(data, teacher, lookup, tok, ro);
        CollectingObserver obs;
        core::PpoTrainer trainer(
            *model, &tok, c,
            [&](int e) {
                return core::recommendationPrompts(core::buildRlPrompts(data, teacher, rt, e), tok,
                                                   core::llm::ChatTemplate::Compact, 320);
            },
            reward, obs);
        trainer.run();
        double rollout = 0, learn = 0, len = 0, generation = 0, rewardTime = 0, scoring = 0;
        for (const auto& s : obs.steps) {
            rollout += obs.metric(s, "time/rollout_s");
            generation += obs.metric(s, "time/generation_s");
            rewardTime += obs.metric(s, "time/reward_s");
            scoring += obs.metric(s, "time/scoring_s");
            learn += obs.metric(s, "time/learn_s");
            len += obs.metric(s, "tokens/responses_len_mean");
        }
        const double n = static_cast<double>(std::max<size_t>(1, obs.steps.size()));
        out << "PPO: " << obs.steps.size() << " iterations of " << c.hyper.prompts_per_batch * c.hyper.samples_per_prompt
                  << " responses (mean " << core::str::fixed(len / n, 1) << " tokens): "
                  << core::str::fixed((rollout + learn) / n, 2) << " s/iteration = rollout "
                  << core::str::fixed(rollout / n, 2) << " s (generation " << core::str::fixed(generation / n, 2)
                  << ", reward " << core::str::fixed(rewardTime / n, 2) << ", 3 scoring forwards "
                  << core::str::fixed(scoring / n, 2) << ") + learning "
                  << core::str::fixed(learn / n, 2) << " s (" << c.hyper.ppo_epochs << " epochs)\n";
        figures["ppo_s_per_iteration"] = (rollout + learn) / n;
        figures["ppo_rollout_s"] = rollout / n;
        figures["ppo_learn_s"] = learn / n;
        figures["ppo_generation_s"] = generation / n;
        figures["ppo_reward_s"] = rewardTime / n;
        figures["ppo_scoring_s"] = scoring / n;
    }
    if (!a.json_out.empty() && dist::isWriter())
        core::writeFileAtomic(a.json_out, figures.dump(2) + "\n", core::ErrorCode::Internal);
    dist::shutdown();
    if (!a.compare.empty())
        printComparison(nlohmann::json::parse(core::readFile(a.compare, core::ErrorCode::InvalidConfig, "--compare")),
                        figures, out);
    std::error_code ec;
    fs::remove_all(tmp, ec);
    return 0;
}

}  // namespace

ToolStatus runBenchTrain(const BenchTrainRequest& request, std::ostream& out)
{
    return catchTool([&] { return benchTrain(request, out); });
}

ToolStatus runBenchTrainScaling(const std::vector<std::string>& workerArgv, int nproc, std::ostream& out)
{
    return catchTool([&] {
        const fs::path tmp = fs::temp_directory_path() / ("recalign-bench-scaling-" + std::to_string(::getpid()));
        fs::create_directories(tmp);
        nlohmann::json results[2];
        const int counts[2] = {1, nproc};
        for (int k = 0; k < 2; ++k) {
            LocalLaunch l;
            l.nproc = counts[k];
            l.argv = workerArgv;
            const std::string json = (tmp / ("figures-" + std::to_string(counts[k]) + ".json")).string();
            l.argv.push_back("--json");
            l.argv.push_back(json);
            out << "---- " << counts[k] << (counts[k] == 1 ? " process" : " processes") << "\n" << std::flush;
            const LaunchOutcome lo = launchLocalWorkers(l);
            if (lo.status != 0)
                throw CoreException(ErrorCode::Internal, "bench train with " + std::to_string(counts[k]) + " processes: " + lo.message);
            results[k] = nlohmann::json::parse(readFile(json, ErrorCode::Internal));
        }
        const double one = results[0].value("sft_tokens_per_s", 0.0), many = results[1].value("sft_tokens_per_s", 0.0);
        const double ppoOne = results[0].value("ppo_s_per_iteration", 0.0), ppoMany = results[1].value("ppo_s_per_iteration", 0.0);
        out << "\nSFT data parallel on this machine (" << results[0].value("machine", std::string()) << "), global batch the same:\n"
            << "  1 process:  " << str::fixed(one, 0) << " tokens/s\n"
            << "  " << nproc << " processes: " << str::fixed(many, 0) << " tokens/s = " << str::fixed(one > 0 ? many / one : 0.0, 2)
            << "x; scaling efficiency " << str::fixed(one > 0 ? 100.0 * many / (nproc * one) : 0.0, 0) << " %\n"
            << "  in collectives per step (rank 0, waiting for the slower rank included): "
            << str::fixed(1000.0 * results[1].value("sft_comm_s_per_step", 0.0), 1) << " ms; the gradients' all-reduce alone "
            << str::fixed(1000.0 * results[1].value("allreduce_s", 0.0), 1) << " ms\n";
        if (ppoOne > 0 && ppoMany > 0)
            out << "PPO (rollout split by prompts, learning by micro-batches): " << str::fixed(ppoOne, 2) << " s/iteration with 1 process, "
                << str::fixed(ppoMany, 2) << " s with " << nproc << " = " << str::fixed(ppoOne / ppoMany, 2) << "x (rollout "
                << str::fixed(results[0].value("ppo_rollout_s", 0.0), 2) << " -> " << str::fixed(results[1].value("ppo_rollout_s", 0.0), 2)
                << " s, learning " << str::fixed(results[0].value("ppo_learn_s", 0.0), 2) << " -> "
                << str::fixed(results[1].value("ppo_learn_s", 0.0), 2) << " s)\n";
        std::error_code ec;
        fs::remove_all(tmp, ec);
        return 0;
    });
}

}  // namespace recalign::core
