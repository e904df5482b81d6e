// RL prompts (RECLM-GEN §3.5 RL rows) and validation/test samples (§3.5, §6.1, §6.3).
#include "core/api/error.h"
#include "core/rules/build_common.h"
#include "core/util/hash.h"

#include <algorithm>
#include <cmath>

namespace recalign::core {

const char* rlTaskName(RlTask t)
{
    switch (t) {
    case RlTask::SeqRec: return "RLSeqRec";
    case RlTask::ControlInclude: return "RL+PersonalControlRec";
    case RlTask::ControlExclude: return "RL-PersonalControlRec";
    case RlTask::RateLP: return "RLPersonalCategoryRateLP";
    case RlTask::RateMP: return "RLPersonalCategoryRateMP";
    case RlTask::RateEP: return "RLPersonalCategoryRateEP";
    }
    return "?";
}

std::vector<RlTask> allRlTasks()
{
    return {RlTask::SeqRec, RlTask::ControlInclude, RlTask::ControlExclude, RlTask::RateLP, RlTask::RateMP, RlTask::RateEP};
}

namespace build_eval_detail {

using namespace build_detail;

void note(BuildReport* report, const std::string& task, const char* reason)
{
    if (report)
        ++report->skipped[task + ": " + reason];
}

void renderListPrompt(const Dataset& data, Sample& s, TemplateFields f, LeWording le)
{
    f.history = formatHistory(titlesOf(data, s.history));
    f.item_count = s.item_count;
    f.intention = s.intention;
    if (s.target_category >= 0)
        f.category = categoryName(data, s.target_category);
    s.prompt = renderTemplate(s.template_id, f, le);
}

struct RlDraft {
    Sample s;
    Rng rng;
    bool needsTeacher = false;
};

// Sets C-dependent fields once the category is known; false when the sample must be skipped.
void finishRl(const Dataset& data, RlTask task, RlDraft& d, const TaskOptions& o)
{
    Sample& s = d.s;
    const std::string& C = categoryName(data, s.target_category);
    TemplateFields f;
    if (task == RlTask::ControlInclude || task == RlTask::ControlExclude) {
        const int intent = static_cast<int>(d.rng.below(kIntentionCount));
        s.intention = task == RlTask::ControlInclude ? positiveIntention(intent, C) : negativeIntention(intent, C);
    } else if (task != RlTask::SeqRec) {
        // tcic ~ U{0..min(|C|, k)}; category_count = tcic (§3.5, the released else-branch).
        const int k = s.item_count;
        const int tcic = static_cast<int>(d.rng.uniformInt(0, std::min(categorySize(data, s.target_category), k)));
        s.category_count = tcic;
        int percent;
        if (o.released_rl_rate_bug) {
            percent = (10 * tcic / k) * 10;
            s.proportion = percent / 100.0;
        } else {
            s.proportion = static_cast<double>(tcic) / k;
            percent = static_cast<int>(std::lround(100.0 * s.proportion));
        }
        f.proportion = formatPercent(percent);
        f.category_count = tcic;
    }
    renderListPrompt(data, s, f, o.le_wording);
}

}  // namespace build_eval_detail

std::vector<Sample> buildRlPrompts(const Dataset& data, const Teacher& teacher, const TaskOptions& o, int epoch,
                                   const std::vector<RlTask>& tasks, BuildReport* report)
{
    using namespace build_eval_detail;
    validateTaskOptions(o);
    std::vector<Sample> out;
    for (RlTask task : tasks) {
        const std::string name = rlTaskName(task);
        std::vector<RlDraft> drafts;
        for (UserIndex u = 0; u < data.numUsers(); ++u) {
            RlDraft d;
            d.s.seed = streamSeed(o.seed, epoch, kTagRl + static_cast<uint64_t>(task), static_cast<uint64_t>(u));
            d.rng.reseed(d.s.seed);
            Sample& s = d.s;
            s.stage = Stage::Rl;
            s.user = u;
            s.task_name = name;
            if (!drawTrainWindow(data, u, d.rng, o.max_history, s.history, s.target)) {
                note(report, name, "training sequence shorter than 2");
                continue;
            }
            s.item_count = static_cast<int>(d.rng.uniformInt(o.topk / 2 + 1, o.topk));  // U{6..10}
            switch (task) {
            case RlTask::SeqRec:
                s.task = TaskKind::SeqRec;
                s.template_id = TemplateId::SeqRec0;
                break;
            case RlTask::ControlInclude:
            case RlTask::ControlExclude:
                s.task = task == RlTask::ControlInclude ? TaskKind::ControlInclude : TaskKind::ControlExclude;
                s.control = task == RlTask::ControlInclude ? Control::Include : Control::Exclude;
                s.template_id = TemplateId::PersonalControlRec0;
                break;
            case RlTask::RateLP:
            case RlTask::RateMP:
            case RlTask::RateEP:
                s.task = TaskKind::CategoryRate;
                s.control = task == RlTask::RateLP ? Control::AtMost : task == RlTask::RateMP ? Control::AtLeast : Control::About;
                s.template_id = task == RlTask::RateLP ? TemplateId::RateLP : task == RlTask::RateMP ? TemplateId::RateMP : TemplateId::RateEP;
                break;
            }
            d.needsTeacher = task == RlTask::ControlExclude || task == RlTask::RateLP;
            if (task == RlTask::ControlInclude || task == RlTask::RateMP || task == RlTask::RateEP) {
                // A random category of the target.
                const auto& own = data.categoriesOf(s.target);
                if (own.empty()) {
                    note(report, name, "target without a category");
                    continue;
                }
                s.target_category = d.rng.pick(own);
            }
            drafts.push_back(std::move(d));
        }
        std::vector<std::vector<ItemId>> histories;
        std::vector<size_t> scoredIndex;
        for (size_t i = 0; i < drafts.size(); ++i)
            if (drafts[i].needsTeacher) {
                histories.push_back(drafts[i].s.history);
                scoredIndex.push_back(i);
            }
        std::vector<bool> keep(drafts.size(), true);
        forEachScored(teacher, histories, o.teacher_batch, [&](size_t j, const ItemScores& sc) {
            RlDraft& d = drafts[scoredIndex[j]];
            // −C / LP: uniform over categories (not containing the target) whose count in the
            // teacher's top-k is ≥ min(2, max count).
            const auto ref = topkFromScores(data, sc, d.s.item_count, CategoryConstraint::none(), d.s.history, true);
            const auto cands = findMaximumCategories(data, ref, d.s.target, true, 2);
            if (cands.empty()) {
                note(report, name, "no category without the target");
                keep[scoredIndex[j]] = false;
                return;
            }
            d.s.target_category = d.rng.pick(cands);
        });
        long produced = 0;
        for (size_t i = 0; i < drafts.size(); ++i) {
            if (!keep[i])
                continue;
            finishRl(data, task, drafts[i], o);
            out.push_back(std::move(drafts[i].s));
            ++produced;
        }
        if (report)
            report->produced[name] += produced;
    }
    return out;
}

std::string EvalTask::name() const
{
    switch (kind) {
    case TaskKind::SeqRec: return "SFTTestSeqRec";
    case TaskKind::ItemCount: return "SFTTestItemCount";
    case TaskKind::ControlInclude: return "SFT+TestPersonalControlRec";
    case TaskKind::ControlExclude: return "SFT-TestPersonalControlRec";
    case TaskKind::CategoryRate: return std::string("SFTTestPersonalCategoryRate") + templateName(template_id) + "_" + std::to_string(percent);
    case TaskKind::ItemSearch: return control == Control::Exclude ? "SFT-TestControlRec" : "SFT+TestControlRec";
    default: break;
    }
    return taskKindName(kind);
}

EvalTask EvalTask::parse(const std::string& raw)
{
    EvalTask t;
    auto rate = [&](Control c, TemplateId id, int defaultPercent, const std::string& suffix) {
        t.kind = TaskKind::CategoryRate;
        t.control = c;
        t.template_id = id;
        t.percent = defaultPercent;
        if (!suffix.empty()) {
            if (suffix[0] != '_' || suffix.size() < 2 || suffix.find_first_not_of("0123456789", 1) != std::string::npos)
                throw CoreException(ErrorCode::InvalidConfig, "eval task '" + raw + "': expected _<percent> after the variant", "task");
            t.percent = std::stoi(suffix.substr(1));
            if (t.percent < 0 || t.percent > 100)
                throw CoreException(ErrorCode::InvalidConfig, "eval task '" + raw + "': percent outside 0..100", "task");
        }
        return t;
    };
    const std::string s = raw;
    if (s == "i0" || s == "SFTTestSeqRec" || s == "RLSeqRec")
        return t;
    if (s == "itemcount" || s == "SFTTestItemCount" || s == "RLItemCount") {
        t.kind = TaskKind::ItemCount;
        return t;
    }
    if (s == "i1+" || s == "SFT+TestPersonalControlRec" || s == "RL+PersonalControlRec") {
        t.kind = TaskKind::ControlInclude;
        t.control = Control::Include;
        t.template_id = TemplateId::PersonalControlRec0;
        return t;
    }
    if (s == "i1-" || s == "SFT-TestPersonalControlRec" || s == "RL-PersonalControlRec") {
        t.kind = TaskKind::ControlExclude;
        t.control = Control::Exclude;
        t.template_id = TemplateId::PersonalControlRec0;
        return t;
    }
    if (s == "i3" || s == "i3+" || s == "i3-") {
        t.kind = TaskKind::ItemSearch;
        t.control = s == "i3-" ? Control::Exclude : Control::Include;
        t.template_id = TemplateId::ControlRec0;
        return t;
    }
    struct Short { const char* prefix; Control c; TemplateId id; int p; };
    static const Short kShort[] = {{"i2le", Control::AtMost, TemplateId::RateLP1, 20},
                                   {"i2lp", Control::AtMost, TemplateId::RateLP, 20},
                                   {"i2ge", Control::AtLeast, TemplateId::RateMP, 30},
                                   {"i2approx", Control::About, TemplateId::RateEP, 30}};
    for (const auto& sh : kShort)
        if (s.rfind(sh.prefix, 0) == 0)
            return rate(sh.c, sh.id, sh.p, s.substr(std::string(sh.prefix).size()));
    for (const char* prefix : {"SFTTestPersonalCategoryRate", "RLPersonalCategoryRate"}) {
        if (s.rfind(prefix, 0) != 0)
            continue;
        const std::string rest = s.substr(std::string(prefix).size());
        const size_t us = rest.find('_');
        const std::string variant = rest.substr(0, us);
        const std::string suffix = us == std::string::npos ? std::string() : rest.substr(us);
        if (variant == "LP1")
            return rate(Control::AtMost, TemplateId::RateLP1, 20, suffix);
        if (variant == "LP")
            return rate(Control::AtMost, TemplateId::RateLP, 20, suffix);
        if (variant == "MP")
            return rate(Control::AtLeast, TemplateId::RateMP, 30, suffix);
        if (variant == "EP")
            return rate(Control::About, TemplateId::RateEP, 30, suffix);
    }
    throw CoreException(ErrorCode::InvalidConfig,
                        "eval task '" + raw + "' is unknown (i0, i1+, i1-, i2le, i2ge, i2approx, i2lp, itemcount, i3, i3-, "
                                              "or a released name such as SFTTestPersonalCategoryRateLP1_20)", "task");
}

std::vector<EvalTask> defaultTestTasks()
{
    return {EvalTask::parse("SFTTestSeqRec"), EvalTask::parse("SFT+TestPersonalControlRec"),
            EvalTask::parse("SFT-TestPersonalControlRec"), EvalTask::parse("SFTTestPersonalCategoryRateLP1_20"),
            EvalTask::parse("SFTTestPersonalCategoryRateEP_30"), EvalTask::parse("SFTTestPersonalCategoryRateMP_30"),
            EvalTask::parse("SFTTestItemCount")};
}

std::vector<EvalTask> rlValidationTasks()
{
    return {EvalTask::parse("RLSeqRec"), EvalTask::parse("RL+PersonalControlRec"), EvalTask::parse("RL-PersonalControlRec"),
            EvalTask::parse("RLPersonalCategoryRateLP_20"), EvalTask::parse("RLPersonalCategoryRateMP_30"),
            EvalTask::parse("RLPersonalCategoryRateEP_50"), EvalTask::parse("RLItemCount")};
}

namespace build_eval_detail {
bool usesRefList(const EvalTask& t)
{
    return t.kind == TaskKind::ControlExclude || (t.kind == TaskKind::CategoryRate && t.control == Control::AtMost);
}
}  // namespace build_eval_detail

bool buildEvalSample(const Dataset& data, const EvalTask& task, UserIndex u, const SuiteOptions& options,
                     const std::vector<ItemId>& refList, long index, const EvalOverrides& ov, Sample& s, std::string* why)
{
    using namespace build_detail;
    auto fail = [&](const char* reason) {
        if (why)
            *why = reason;
        return false;
    };
    if (u < 0 || u >= data.numUsers())
        return fail("user index out of range");
    if (!data.hasEvalTargets(u))
        return fail("fewer than 3 interactions");
    const TaskOptions& o = options.task;
    s = Sample{};
    s.stage = options.split;
    s.task = task.kind;
    s.task_name = task.name();
    s.template_id = task.template_id;
    s.control = task.control;
    s.user = u;
    s.seed = streamSeed(o.seed, 0, fnv1a64(s.task_name) ^ (options.split == Stage::Valid ? uint64_t(kTagEval) : uint64_t(0)), static_cast<uint64_t>(u));
    Rng rng(s.seed);
    const bool test = options.split != Stage::Valid;
    s.target = test ? data.testTarget(u) : data.validTarget(u);
    if (task.kind != TaskKind::ItemSearch)
        s.history = test ? data.testHistory(u, o.max_history) : data.validHistory(u, o.max_history);
    s.item_count = ov.item_count > 0 ? ov.item_count : task.kind == TaskKind::ItemCount ? 11 + static_cast<int>(index % 5) : o.topk;
    if (ov.category >= 0 && ov.category >= data.numCategories())
        return fail("category out of range");
    // C = item2category[target][-1] (+C, MP, EP, I3) or find_maximum_category(ref)[-1] (−C, LP).
    auto lastCategoryOfTarget = [&]() -> CategoryId {
        const auto& own = data.categoriesOf(s.target);
        return own.empty() ? -1 : own.back();
    };
    auto lastMaxCategory = [&]() -> CategoryId {
        const auto c = findMaximumCategories(data, refList, s.target, false);
        return c.empty() ? -1 : c.back();
    };
    TemplateFields f;
    if (task.control != Control::None) {
        if (ov.category >= 0)
            s.target_category = ov.category;
        else if (build_eval_detail::usesRefList(task) || (task.kind == TaskKind::ItemSearch && task.control == Control::Exclude))
            s.target_category = lastMaxCategory();
        else
            s.target_category = lastCategoryOfTarget();
        if (s.target_category < 0)
            return fail("no suitable target category");
        const std::string& C = categoryName(data, s.target_category);
        const int intent = static_cast<int>(rng.below(kIntentionCount));
        if (task.kind == TaskKind::CategoryRate) {
            const int p = ov.percent >= 0 ? ov.percent : task.percent;
            s.proportion = p / 100.0;
            s.category_count = p * s.item_count / 100;  // int(p·K/100)
            f.proportion = formatPercent(p);
            f.category_count = s.category_count;
        } else {
            s.intention = task.control == Control::Include ? positiveIntention(intent, C) : negativeIntention(intent, C);
        }
    }
    build_eval_detail::renderListPrompt(data, s, f, o.le_wording);
    s.output_text = data.title(s.target);
    s.label_items = {s.target};
    return true;
}

std::vector<Sample> buildEvalSuite(const Dataset& data, const Teacher& teacher, const SuiteOptions& options,
                                   const std::vector<EvalTask>& tasks, BuildReport* report)
{
    using namespace build_eval_detail;
    validateTaskOptions(options.task);
    std::vector<UserIndex> eligible;
    for (UserIndex u = 0; u < data.numUsers(); ++u)
        if (data.hasEvalTargets(u))
            eligible.push_back(u);
    const bool test = options.split != Stage::Valid;
    std::vector<Sample> out;
    for (size_t j = 0; j < tasks.size(); ++j) {
        const EvalTask& task = tasks[j];
        const std::string name = task.name();
        size_t begin = 0, end = eligible.size();
        if (options.users_per_task > 0) {
            const size_t n = static_cast<size_t>(options.users_per_task);
            begin = options.disjoint_slices ? std::min(eligible.size(), j * n) : 0;
            end = std::min(eligible.size(), begin + n);
        }
        const std::vector<UserIndex> users(eligible.begin() + static_cast<std::ptrdiff_t>(begin),
                                           eligible.begin() + static_cast<std::ptrdiff_t>(end));
        // Reference lists (−C, LP): the model's own I0 outputs when given, else the teacher's top-k.
        std::vector<std::vector<ItemId>> refs(users.size());
        if (usesRefList(task) || (task.kind == TaskKind::ItemSearch && task.control == Control::Exclude)) {
            std::vector<std::vector<ItemId>> histories;
            std::vector<size_t> which;
            for (size_t i = 0; i < users.size(); ++i) {
                if (options.ref_lists) {
                    auto it = options.ref_lists->find(users[i]);
                    if (it != options.ref_lists->end()) {
                        refs[i] = it->second;
                        continue;
                    }
                }
                histories.push_back(test ? data.testHistory(users[i], options.task.max_history)
                                         : data.validHistory(users[i], options.task.max_history));
                which.push_back(i);
            }
            forEachScored(teacher, histories, options.task.teacher_batch, [&](size_t k, const ItemScores& sc) {
                refs[which[k]] = topkFromScores(data, sc, options.task.topk, CategoryConstraint::none(), histories[k], true);
            });
        }
        long produced = 0;
        for (size_t i = 0; i < users.size(); ++i) {
            Sample s;
            std::string why;
            if (!buildEvalSample(data, task, users[i], options, refs[i], static_cast<long>(i), {}, s, &why)) {
                note(report, name, why.c_str());
                continue;
            }
            out.push_back(std::move(s));
            ++produced;
        }
        if (report)
            report->produced[name] += produced;
    }
    return out;
}

}  // namespace recalign::core
