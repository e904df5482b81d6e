// The experiment pipeline: data -> teacher -> tokenizer/base model -> SFT (v1, v2, palr) ->
// PPO (v3, full) -> evaluation of every variant and baseline -> tables. This file orders the
// stages and keeps the run's record (store, resume); the stage bodies are in stages.cpp, the
// content-addressed cache in stage_cache.cpp. Implements core/api/runners.h.
#include "core/api/info.h"
#include "core/api/runners.h"
#include "core/api/tables.h"
#include "core/pipeline/stages.h"
#include "core/rules/title_lookup.h"
#include "core/runtime/runtime.h"
#include "core/sasrec/teacher.h"
#include "core/util/files.h"
#include "core/util/hash.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <filesystem>
#include <set>

namespace fs = std::filesystem;

namespace recalign::core {

namespace pipeline_detail {

using namespace pipeline_stages;

void runAll(Ctx& ctx)
{
    seedTorch(ctx.seed);
    loadGeneralSuite(ctx);
    std::set<std::string> variants;
    for (Variant v : ctx.cfg.variants)
        variants.insert(variantName(v));

    std::string dataHash, teacherHash;
    const Dataset data = stageData(ctx, dataHash);
    const auto teacher = stageTeacher(ctx, data, dataHash, teacherHash);
    const TitleLookup lookup(data);
    const VariantEvalOptions eo = evalOptions(ctx);

    if (variants.count(variant_name::kSasRec))
        stageEval(ctx, variant_name::kSasRec, teacherHash, [&] {
            return evaluateRecommender(variant_name::kSasRec, *teacher, data, *teacher, lookup, eo, *ctx.obs);
        });
    if (variants.count(variant_name::kMostPop)) {
        const MostPopTeacher pop(data);
        stageEval(ctx, variant_name::kMostPop, teacherHash + "/mostpop", [&] {
            return evaluateRecommender(variant_name::kMostPop, pop, data, *teacher, lookup, eo, *ctx.obs);
        });
    }

    const bool needLlm = std::any_of(variants.begin(), variants.end(), [](const std::string& v) {
        return v != variant_name::kSasRec && v != variant_name::kMostPop;
    });
    if (!needLlm)
        return;
    const BaseModel base = stageBaseModel(ctx, data, dataHash);
    auto evalModel = [&](const std::string& variant, llm::LoadedModel m) {
        return withGeneralAbility(ctx, variant, m,
                                  evaluateModel(variant, *m.model, m.tokenizer, data, *teacher, lookup, eo, *ctx.obs));
    };
    if (variants.count(variant_name::kZeroShot))
        stageEval(ctx, variant_name::kZeroShot, base.hash + teacherHash,
                  [&] { return evalModel(variant_name::kZeroShot, loadBase(ctx, base)); });

    auto evalSft = [&](const std::string& variant, const TrainedAdapter& sft) {
        stageEval(ctx, variant, sft.hash, [&] { return evalModel(variant, loadSftModel(ctx, base, sft)); });
    };
    for (const char* v : {variant_name::kPalr, variant_name::kV1})
        if (variants.count(v))
            evalSft(v, stageSft(ctx, v, data, *teacher, lookup, base, teacherHash));

    const bool needV2 = variants.count(variant_name::kV2) || variants.count(variant_name::kV3)
        || variants.count(variant_name::kFull);
    if (!needV2)
        return;
    const TrainedAdapter v2 = stageSft(ctx, variant_name::kV2, data, *teacher, lookup, base, teacherHash);
    if (variants.count(variant_name::kV2))
        evalSft(variant_name::kV2, v2);
    for (const char* v : {variant_name::kV3, variant_name::kFull}) {
        if (!variants.count(v))
            continue;
        const TrainedAdapter ppo = stagePpo(ctx, v, data, *teacher, lookup, base, v2, teacherHash);
        stageEval(ctx, v, ppo.hash, [&] { return evalModel(v, loadPpoModel(ctx, base, v2, ppo)); });
    }
}

// Continues run `runId`: same configuration, stages the killed process left running marked failed.
void attachResumedRun(Ctx& ctx, int64_t runId, const std::string& file)
{
    auto info = ctx.store.runInfo(runId);
    if (!info)
        throw CoreException(ErrorCode::InvalidConfig, "cannot resume run " + std::to_string(runId) + ": " + info.error().message,
                            "resume");
    ctx.seed = static_cast<uint64_t>(info.value().seed);
    if (info.value().config_json != canonicalJson(ctx.cfg))
        throw CoreException(ErrorCode::InvalidConfig, "cannot resume run " + std::to_string(runId)
                                                          + ": it was started with a different configuration than '"
                                                          + file + "'",
                            "resume");
    ctx.run = runId;
    if (auto stages = ctx.store.stages(ctx.run))
        for (const auto& st : stages.value())
            if (st.status == StageStatus::Running)
                ctx.store.endStage(st.id, StageStatus::Failed);
}

// Records a new run of `seed` (and its experiment) in the store, in group `group` (0 = none).
void createRun(Ctx& ctx, int64_t experimentId, int64_t group)
{
    NewRun nr;
    nr.experiment_id = experimentId;
    nr.group_id = group;
    nr.name = ctx.cfg.name + " (seed " + std::to_string(ctx.seed) + ")";
    nr.config_json = canonicalJson(ctx.cfg);
    nr.seed = static_cast<int64_t>(ctx.seed);
    nr.status = RunStatus::Running;
    nr.env = captureEnvironment(RECALIGN_SOURCE_DIR_STR);
    nr.env.device = ctx.device.str();
    auto run = ctx.store.createRun(nr);
    if (!run)
        throw CoreException(run.error().code, "creating the run: " + run.error().message);
    ctx.run = run.value();
}

// One step of a group's plan: an existing run to continue (run > 0) or a seed to start.
struct PlannedRun {
    uint64_t seed = 0;
    int64_t run = 0;
    bool finished = false;
};

std::string seedList(const std::vector<int64_t>& seeds)
{
    std::string out;
    for (int64_t s : seeds)
        out += (out.empty() ? "" : ", ") + std::to_string(s);
    return out;
}

}  // namespace pipeline_detail

namespace pipeline_threads {

// The model's width for the thread plan: the configured dim (from scratch), config.json's
// hidden_size (a Hugging Face folder), 0 when unknown (llama2.c files).
int planWidth(const ExperimentConfig& cfg)
{
    if (cfg.model.source == ModelConfig::Source::FromScratch)
        return cfg.model.dim;
    if (cfg.model.source != ModelConfig::Source::Hf)
        return 0;
    try {
        const auto j = nlohmann::json::parse(readFile(resolvePath(cfg, cfg.model.path) + "/config.json"));
        return j.value("hidden_size", 0);
    } catch (const std::exception&) {
        return 0;  // loading the model reports what is wrong with it
    }
}

}  // namespace pipeline_threads

using namespace pipeline_detail;

RunOutcome runExperiment(const RunRequest& request, Observer& observer)
{
    RunOutcome outcome;
    Ctx ctx;
    ctx.outcome = &outcome;
    std::vector<PlannedRun> plan;
    const std::string file = request.experiment_path.empty() ? request.config.name : request.experiment_path;
    int64_t experimentId = 0;
    Error setup = catchAll([&] {
        ctx.cfg = request.config;
        ctx.workspace = !request.workspace.empty() ? request.workspace
            : !ctx.cfg.workspace.empty()           ? resolvePath(ctx.cfg, ctx.cfg.workspace)
                                                   : std::string("workspace");
        fs::create_directories(ctx.workspace);
        ctx.workspace = fs::absolute(ctx.workspace).lexically_normal().string();
        ctx.only.insert(request.only_stages.begin(), request.only_stages.end());
        ctx.device = resolveDevice(ctx.cfg.device);
        // auto becomes what this machine runs, before anything is hashed or recorded.
        ctx.cfg.model.compute_dtype = llm::resolveComputeDtype(ctx.cfg.model.compute_dtype, ctx.device.is_cuda());
        if (auto err = ctx.store.open(ctx.workspace + "/" + kStoreFileName))
            throw CoreException(err.code, err.message, err.where);
        if (!request.resume_run.empty()) {
            int64_t runId = 0;
            try {
                runId = std::stoll(request.resume_run);
            } catch (const std::exception&) {
                throw CoreException(ErrorCode::InvalidConfig, "cannot resume run '" + request.resume_run + "': expected a run id",
                                    "resume");
            }
            auto info = ctx.store.runInfo(runId);
            if (!info)
                throw CoreException(ErrorCode::InvalidConfig, "cannot resume run " + request.resume_run + ": " + info.error().message,
                                    "resume");
            outcome.group_id = info.value().group_id;
            plan.push_back({static_cast<uint64_t>(info.value().seed), runId, false});
            if (info.value().group_id > 0) {
                // The rest of the group: its runs by seed (newest first), unfinished ones resumed.
                auto group = ctx.store.group(info.value().group_id);
                RunFilter f;
                f.group_id = info.value().group_id;
                auto runs = ctx.store.listRuns(f);
                if (!group || !runs)
                    throw CoreException(ErrorCode::InvalidConfig, "cannot read run group " + std::to_string(info.value().group_id),
                                        "resume");
                experimentId = group.value().experiment_id;
                for (int64_t seed : group.value().seeds) {
                    if (seed == info.value().seed)
                        continue;
                    PlannedRun p{static_cast<uint64_t>(seed), 0, false};
                    for (const auto& r : runs.value())
                        if (r.seed == seed) {
                            p.run = r.id;
                            p.finished = r.status == RunStatus::Finished;
                            break;
                        }
                    plan.push_back(p);
                }
                // Seed order of the group.
                const auto& order = group.value().seeds;
                std::stable_sort(plan.begin(), plan.end(), [&](const PlannedRun& a, const PlannedRun& b) {
                    return std::find(order.begin(), order.end(), int64_t(a.seed))
                        < std::find(order.begin(), order.end(), int64_t(b.seed));
                });
            }
        } else {
            ExperimentRecord e;
            e.name = ctx.cfg.name;
            e.file_path = request.experiment_path;
            e.config_yaml = request.experiment_text;
            auto expId = ctx.store.addExperiment(e);
            experimentId = expId ? expId.value() : 0;
            std::vector<int64_t> seeds;
            if (request.seed >= 0)
                seeds.push_back(request.seed);
            else
                for (int s : ctx.cfg.seeds)
                    seeds.push_back(s);
            if (seeds.empty())
                seeds.push_back(0);
            RunGroup g;
            g.experiment_id = experimentId;
            g.name = ctx.cfg.name + (seeds.size() == 1 ? " (seed " : " (seeds ") + seedList(seeds) + ")";
            g.config_hash = sha256Hex(canonicalJson(ctx.cfg));
            g.seeds = seeds;
            auto group = ctx.store.createGroup(g);
            if (!group)
                throw CoreException(group.error().code, "creating the run group: " + group.error().message);
            outcome.group_id = group.value();
            for (int64_t seed : seeds)
                plan.push_back({static_cast<uint64_t>(seed), 0, false});
        }
    });
    if (!setup.ok()) {
        outcome.error = setup;
        return outcome;
    }

    const ThreadPlan threads = applyThreadPlan(effectiveThreads(ctx.cfg.threads, request.default_threads),
                                               pipeline_threads::planWidth(ctx.cfg),
                                               ctx.cfg.model.compute_dtype == ModelConfig::ComputeDType::BFloat16);
    for (size_t k = 0; k < plan.size(); ++k) {
        const PlannedRun& p = plan[k];
        if (p.finished) {
            outcome.run_ids.push_back(p.run);
            continue;
        }
        ctx.run = 0;
        ctx.obs.reset();
        ctx.seed = p.seed;
        outcome.error = catchAll([&] {
            if (p.run > 0)
                attachResumedRun(ctx, p.run, file);
            else
                createRun(ctx, experimentId, outcome.group_id);
            outcome.run_id = ctx.run;
            outcome.run_ids.push_back(ctx.run);
            ctx.store.setRunStatus(ctx.run, RunStatus::Running);
            ctx.obs = std::make_unique<StoreObserver>(ctx.store, ctx.run, observer);
            ctx.obs->onLog(LogLevel::Info, "run " + std::to_string(ctx.run) + " (seed " + std::to_string(ctx.seed)
                                               + (plan.size() > 1 ? ", " + std::to_string(k + 1) + " of " + std::to_string(plan.size())
                                                                        + " in group " + std::to_string(outcome.group_id)
                                                                  : std::string())
                                               + ") in " + ctx.workspace + " on " + ctx.device.str()
                                               + (ctx.cfg.model.dtype != ModelConfig::DType::Float32
                                                      ? std::string(", base weights and products in ")
                                                            + c10::toString(llm::storageScalarType(ctx.cfg.model.dtype))
                                                      : std::string(", products in ")
                                                            + llm::computeDtypeName(ctx.cfg.model.compute_dtype))
                                               + "; " + threads.describe());
            runAll(ctx);
            ctx.obs->flush();
        });
        if (ctx.obs)
            ctx.obs->flush();
        if (ctx.run > 0 && ctx.store.isOpen()) {
            const RunStatus status = outcome.error.ok() ? RunStatus::Finished
                : outcome.error.code == ErrorCode::Cancelled ? RunStatus::Cancelled
                                                             : RunStatus::Failed;
            ctx.store.setRunStatus(ctx.run, status, outcome.error.ok() ? std::string() : outcome.error.toString());
        }
        if (!outcome.error.ok())
            break;  // the group stops here; --resume continues it
    }
    return outcome;
}

}  // namespace recalign::core
