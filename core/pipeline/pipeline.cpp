// The experiment pipeline: data -> teacher -> tokenizer/base model -> SFT (v1, v2, palr) ->
// PPO (v3, full) -> evaluation of every variant and baseline -> tables. This file orders the
// stages and keeps the run's record (store, resume); the stage bodies are in stages.cpp, the
// content-addressed cache in stage_cache.cpp. Implements core/api/runners.h.
#include "core/api/info.h"
#include "core/api/runners.h"
#include "core/api/tables.h"
#include "core/dist/dist.h"
#include "core/pipeline/stages.h"
#include "core/rules/title_lookup.h"
#include "core/runtime/runtime.h"
#include "core/sasrec/teacher.h"
#include "core/util/files.h"
#include "core/util/hash.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <filesystem>
#include <map>
#include <set>

namespace fs = std::filesystem;

namespace recalign::core {

namespace pipeline_detail {

using namespace pipeline_stages;

void runAll(Ctx& ctx)
{
    seedTorch(ctx.seed);
    loadGeneralSuite(ctx);
    // Every row is a recipe (VariantRecipe); validation has parsed each name already.
    std::vector<VariantRecipe> recipes;
    for (const auto& name : ctx.cfg.variants) {
        VariantRecipe r;
        std::string why;
        if (!parseVariantRecipe(name, &r, &why))
            throw CoreException(ErrorCode::InvalidConfig, "variants: " + why, "variants");
        recipes.push_back(r);
    }

    std::string dataHash, teacherHash;
    const Dataset data = stageData(ctx, dataHash);
    const auto teacher = stageTeacher(ctx, data, dataHash, teacherHash);
    const TitleLookup lookup(data);
    const VariantEvalOptions eo = evalOptions(ctx);

    for (const auto& r : recipes) {
        if (r.name == variant_name::kSasRec)
            stageEval(ctx, r.name, teacherHash, [&] {
                return evaluateRecommender(r.name, *teacher, data, *teacher, lookup, eo, *ctx.obs);
            });
        if (r.name == variant_name::kMostPop) {
            const MostPopTeacher pop(data);
            stageEval(ctx, r.name, teacherHash + "/mostpop", [&] {
                return evaluateRecommender(r.name, pop, data, *teacher, lookup, eo, *ctx.obs);
            });
        }
    }
    const bool needLlm = std::any_of(recipes.begin(), recipes.end(),
                                     [](const VariantRecipe& r) { return r.kind != VariantRecipe::Kind::Recommender; });
    if (!needLlm)
        return;
    const BaseModel base = stageBaseModel(ctx, data, dataHash);
    // A row's evaluation: its decoding (+cd) is an input of the stage beside the model's hash.
    auto evalRow = [&](const VariantRecipe& r, const std::string& modelHash, const std::function<llm::LoadedModel()>& load) {
        VariantEvalOptions o = eo;
        o.constrained_decoding = r.constrained;
        stageEval(ctx, r.name, r.constrained ? modelHash + "/decoding=constrained" : modelHash, [&] {
            llm::LoadedModel m = load();
            return withGeneralAbility(ctx, r.name, m,
                                      evaluateModel(r.name, *m.model, m.tokenizer, data, *teacher, lookup, o, *ctx.obs));
        });
    };
    // Trained once per experiment however many rows use them: SFT per data mix, alignment per
    // trained name (full_grpo and full_grpo+cd share one).
    std::map<std::string, TrainedAdapter> sft, aligned;
    auto sftFor = [&](const std::string& mix) -> const TrainedAdapter& {
        auto it = sft.find(mix);
        if (it == sft.end())
            it = sft.emplace(mix, stageSft(ctx, mix, data, *teacher, lookup, base, teacherHash)).first;
        return it->second;
    };
    // The paper's order of stages: the SFT rows first, then the aligned ones.
    for (const auto& r : recipes) {
        if (r.kind == VariantRecipe::Kind::ZeroShot)
            evalRow(r, base.hash + teacherHash, [&] { return loadBase(ctx, base); });
        else if (r.kind == VariantRecipe::Kind::Sft && r.align == VariantRecipe::Align::None) {
            const TrainedAdapter& s = sftFor(r.sft);
            evalRow(r, s.hash, [&] { return loadSftModel(ctx, base, s); });
        }
    }
    for (const auto& r : recipes) {
        if (r.align == VariantRecipe::Align::None)
            continue;
        const TrainedAdapter& s = sftFor(r.sft);
        auto it = aligned.find(r.trainedName());
        if (it == aligned.end()) {
            TrainedAdapter a = r.align == VariantRecipe::Align::Rl
                ? stageRl(ctx, r, data, *teacher, lookup, base, s, teacherHash)
                : stageDpo(ctx, r, data, *teacher, lookup, base, s, teacherHash);
            it = aligned.emplace(r.trainedName(), a).first;
        }
        const TrainedAdapter& a = it->second;
        evalRow(r, a.hash, [&] { return loadPpoModel(ctx, base, s, a); });
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
    if (dist::active())  // shown with the run: one run, its world size
        nr.env.device += " x " + std::to_string(dist::world()) + " processes (data parallel)";
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
    if (request.processes > 1)
        return runInProcesses(request, observer);
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
        // A data-parallel job (torchrun, srun, recalign run --nproc): join it before anything is
        // written; rank 0 is the one writer, the others follow it (Ctx::follower).
        const dist::Placement placement = dist::placementFromEnvironment();
        if (placement.world > 1) {
            if (ctx.device.is_cuda())
                ctx.device = torch::Device(torch::kCUDA, static_cast<c10::DeviceIndex>(placement.local_rank));
            dist::init(placement, ctx.cfg.distributed, ctx.device);
            ctx.follower = !dist::isWriter();
        }
        if (ctx.follower) {
            // Its own store (logs, samples, curves of this rank); the plan comes from rank 0.
            const std::string own = ctx.workspace + "/ranks/" + std::to_string(dist::rank());
            fs::create_directories(own);
            fs::remove(own + "/" + kStoreFileName);
            if (auto err = ctx.store.open(own + "/" + kStoreFileName))
                throw CoreException(err.code, err.message, err.where);
            const auto shared = nlohmann::json::parse(dist::awaitFromWriter("plan"));
            if (shared.contains("error"))
                throw CoreException(ErrorCode::Internal, "rank 0 could not start: " + shared["error"].get<std::string>(),
                                    "distributed");
            outcome.group_id = shared.value("group", 0L);
            for (const auto& p : shared["runs"])
                plan.push_back({p["seed"].get<uint64_t>(), 0, p["finished"].get<bool>()});
            ExperimentRecord e;
            e.name = ctx.cfg.name + " (rank " + std::to_string(dist::rank()) + ")";
            e.config_yaml = request.experiment_text;
            auto expId = ctx.store.addExperiment(e);
            experimentId = expId ? expId.value() : 0;
            return;
        }
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
    if (dist::active() && dist::isWriter()) {
        // The plan for the other ranks: the seeds to run (finished ones skipped), or why not.
        nlohmann::json shared;
        if (setup.ok()) {
            shared["group"] = outcome.group_id;
            shared["runs"] = nlohmann::json::array();
            for (const auto& p : plan)
                shared["runs"].push_back({{"seed", p.seed}, {"finished", p.finished}});
        } else {
            shared["error"] = setup.toString();
        }
        catchAll([&] { dist::publish("plan", shared.dump()); });
    }
    if (!setup.ok()) {
        outcome.error = setup;
        dist::shutdown();
        return outcome;
    }

    const ThreadPlan threads = applyThreadPlan(effectiveThreads(ctx.cfg.threads, request.default_threads),
                                               pipeline_threads::planWidth(ctx.cfg),
                                               ctx.cfg.model.compute_dtype == ModelConfig::ComputeDType::BFloat16);
    for (size_t k = 0; k < plan.size(); ++k) {
        const PlannedRun& p = plan[k];
        if (p.finished) {
            if (!ctx.follower)
                outcome.run_ids.push_back(p.run);
            continue;
        }
        ctx.run = 0;
        ctx.obs.reset();
        ctx.seed = p.seed;
        outcome.error = catchAll([&] {
            if (p.run > 0 && !ctx.follower)
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
                                               + "; " + threads.describe()
                                               + (dist::active() ? "; data parallel: " + dist::describe() : std::string()));
            runAll(ctx);
            ctx.obs->flush();
        });
        if (ctx.obs)
            ctx.obs->flush();
        // Data parallel: a stop reaches every rank (Ctrl-C goes to all of them), but they notice it
        // at different steps, and a rank still in a collective then sees its peer leave. When this
        // rank was asked to stop too, that is the stop, not a failure.
        if (!outcome.error.ok() && outcome.error.code != ErrorCode::Cancelled && dist::active()
            && observer.stopRequested())
            outcome.error = Error{ErrorCode::Cancelled,
                                  "stopped by the user (a peer rank stopped first: " + outcome.error.message + ")",
                                  outcome.error.where};
        if (ctx.run > 0 && ctx.store.isOpen()) {
            const RunStatus status = outcome.error.ok() ? RunStatus::Finished
                : outcome.error.code == ErrorCode::Cancelled ? RunStatus::Cancelled
                                                             : RunStatus::Failed;
            ctx.store.setRunStatus(ctx.run, status, outcome.error.ok() ? std::string() : outcome.error.toString());
        }
        if (!outcome.error.ok())
            break;  // the group stops here; --resume continues it
    }
    if (dist::active()) {
        if (outcome.error.ok())  // nobody leaves while another rank still needs it
            if (Error e = catchAll([] { dist::barrier(); }); !e.ok())
                outcome.error = e;
        dist::shutdown();
    }
    return outcome;
}

}  // namespace recalign::core
