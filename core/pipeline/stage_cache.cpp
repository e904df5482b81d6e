// The content-addressed stage cache: stage hashes, output folders with a DONE marker, reuse,
// --only, and the store's stage records.
#include "core/pipeline/pipeline_context.h"
#include "core/dist/dist.h"

#include "core/runtime/runtime.h"
#include "core/util/files.h"
#include "core/util/hash.h"

#include <nlohmann/json.hpp>

#include <chrono>
#include <filesystem>

namespace fs = std::filesystem;

namespace recalign::core::pipeline_detail {

std::string stageHash(const std::string& name, const std::string& configJson, const std::vector<std::string>& inputs,
                      uint64_t seed)
{
    Sha256 h;
    h.update(name);
    h.update("\n");
    h.update(configJson);
    h.update("\nseed=" + std::to_string(seed) + "\n");
    for (const auto& i : inputs) {
        h.update(i);
        h.update("\n");
    }
    return h.hexDigest();
}

std::string configJsonWithoutGeneral(const ExperimentConfig& cfg, const std::vector<std::string>& sections)
{
    nlohmann::json j = nlohmann::json::parse(canonicalJson(cfg, sections));
    if (j.contains("evaluation"))
        for (const char* key : {"mmlu_path", "gsm8k_path", "mmlu_k_shot", "gsm8k_k_shot", "general_limit",
                                "gsm8k_max_new_tokens"})
            j["evaluation"].erase(key);
    return j.dump();
}

namespace {

// Metric stages a pipeline stage logs under besides its own name.
std::vector<std::string> metricAliases(const std::string& stage)
{
    if (stage == "base_model")
        return {"pretrain"};
    if (stage == "teacher")
        return {"teacher_eval"};
    return {};
}

}  // namespace

nlohmann::json runStage(Ctx& ctx, const std::string& name, const std::string& hash,
                        const std::function<nlohmann::json(const std::string& dir)>& body)
{
    return runStage(ctx, name, hash, ctx.seed, body);
}

bool dataParallelStage(const std::string& name)
{
    return name == "teacher" || name == "base_model" || name.rfind("sft_", 0) == 0 || name.rfind("ppo_", 0) == 0
        || name.rfind("rl_", 0) == 0;
}

namespace {

// A rank other than 0: joins a data-parallel stage that rank 0 computes (its trainers write
// nothing), then takes rank 0's outputs; any other stage it only waits for.
nlohmann::json followStage(Ctx& ctx, const std::string& name, uint64_t seed, const std::string& dir,
                           const std::string& key, const std::function<nlohmann::json(const std::string& dir)>& body)
{
    const auto start = std::chrono::steady_clock::now();
    const bool compute = dist::awaitFromWriter(key + "/compute") == "1";
    if (compute && dataParallelStage(name)) {
        ctx.obs->onStageBegin(name, 0);
        seedTorch(fnv1a64(name + "#seed=" + std::to_string(seed)));
        body(dir);
        ctx.obs->onStageEnd(name);
    }
    const std::string status = dist::awaitFromWriter(key + "/done");
    if (status != "ok")
        throw CoreException(ErrorCode::Internal, "stage " + name + " failed on rank 0: " + status, name);
    auto done = nlohmann::json::parse(readFile(dir + "/DONE.json", ErrorCode::CheckpointIO));
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    ctx.outcome->stage_seconds.emplace_back(name, secs);
    done["dir"] = dir;
    return done;
}

}  // namespace

nlohmann::json runStage(Ctx& ctx, const std::string& name, const std::string& hash, uint64_t seed,
                        const std::function<nlohmann::json(const std::string& dir)>& body)
{
    const std::string dir = ctx.workspace + "/artifacts/" + name + "-" + hash.substr(0, 16);
    const std::string marker = dir + "/DONE.json";
    const std::string distKey = dist::active() ? "stage/" + std::to_string(++ctx.dist_seq) : std::string();
    if (ctx.follower)
        return followStage(ctx, name, seed, dir, distKey, body);
    const bool forced = ctx.only.count(name) > 0;
    if (!ctx.only.empty() && !forced && !fs::exists(marker))
        throw CoreException(ErrorCode::InvalidConfig,
                            "stage '" + name + "' has no cached output for this configuration; run it too (--only)", name);
    if (forced && fs::exists(marker))
        fs::remove(marker);
    const auto start = std::chrono::steady_clock::now();
    // The run that computed a cached stage (its own record when it was itself reused), looked up
    // before this run's record exists.
    int64_t origin = 0;
    if (fs::exists(marker))
        if (auto found = ctx.store.findFinishedStage(hash); found && found.value().id > 0)
            origin = found.value().reused_from_run > 0 ? found.value().reused_from_run : found.value().run_id;
    auto stageId = ctx.store.beginStage(ctx.run, name, hash, dir);
    dist::publish(distKey + "/compute", fs::exists(marker) ? "0" : "1");  // the other ranks follow
    nlohmann::json done;
    if (fs::exists(marker)) {
        done = nlohmann::json::parse(readFile(marker, ErrorCode::CheckpointIO));
        ctx.obs->onLog(LogLevel::Info, "stage " + name + ": reusing " + dir
                                           + (origin > 0 && origin != ctx.run ? " (computed by run " + std::to_string(origin) + ")"
                                                                              : std::string()));
        // The stage's curves and samples come with it, so the run shows every stage it consists of.
        if (stageId && origin > 0 && origin != ctx.run)
            if (auto err = ctx.store.markStageReused(stageId.value(), origin, metricAliases(name)))
                ctx.obs->onLog(LogLevel::Warning, "run store: " + err.toString());
    } else {
        fs::create_directories(dir);
        ctx.obs->onStageBegin(name, 0);
        // torch's global RNG (dropout) starts from the stage's own seed, so its outputs do not
        // depend on which earlier stages this process ran or reused (a resumed run reuses them).
        seedTorch(fnv1a64(name + "#seed=" + std::to_string(seed)));
        try {
            done = body(dir);
        } catch (...) {
            if (stageId)
                ctx.store.endStage(stageId.value(), StageStatus::Failed);
            ctx.obs->flush();
            if (dist::active()) {
                std::string why = "an exception that is not a std::exception";
                try {
                    throw;
                } catch (const std::exception& e) {
                    why = e.what();
                } catch (...) {
                }
                try {
                    dist::publish(distKey + "/done", why);
                } catch (...) {  // the job's store is gone too: the original error matters
                }
            }
            throw;
        }
        done["stage"] = name;
        done["hash"] = hash;
        writeFileAtomic(marker, done.dump(2), ErrorCode::CheckpointIO);
        ctx.obs->onStageEnd(name);
    }
    if (stageId)
        ctx.store.endStage(stageId.value(), StageStatus::Finished);
    dist::publish(distKey + "/done", "ok");
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    ctx.outcome->stage_seconds.emplace_back(name, secs);
    done["dir"] = dir;
    return done;
}

}  // namespace recalign::core::pipeline_detail
