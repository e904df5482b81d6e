// SFT sample builders (RECLM-GEN §3.5, §3.6; labels per §2.4) and the SFT epoch.
#include "core/api/error.h"
#include "core/rules/build_common.h"

#include <algorithm>
#include <cmath>

namespace recalign::core {

const char* sftTaskName(SftTask t)
{
    switch (t) {
    case SftTask::SeqRec: return "SFTSeqRec";
    case SftTask::SeqRecPalr: return "SFTSeqRecPALR";
    case SftTask::PersonalControl: return "SFTPersonalControlRec";
    case SftTask::CategoryRate: return "SFTPersonalCategoryRate";
    case SftTask::ControlRecRe: return "SFTControlRec_re";
    case SftTask::ShareGpt: return "ShareChatGPT";
    }
    return "?";
}

SftMix parseSftMix(const std::string& name)
{
    if (name == "v1")
        return SftMix::V1;
    if (name == "v2")
        return SftMix::V2;
    if (name == "palr")
        return SftMix::Palr;
    throw CoreException(ErrorCode::InvalidConfig, "sft.mix: '" + name + "' is not one of v1, v2, palr", "sft.mix");
}

namespace build_sft_detail {

using namespace build_detail;

struct Draft {
    Sample s;
    Rng rng;
    bool plus = true;  // I1: +C or −C
    int variant = 0;   // I2: 0 LP, 1 MP, 2 LC, 3 MC
    int tcic = 0;      // I2: the stated count
    int m = 0;         // I2: in-category items of the label
};

void note(BuildReport* report, const char* task, const char* reason)
{
    if (report)
        ++report->skipped[std::string(task) + ": " + reason];
}

// Prompt fields and the output text of a list sample once labels and k are set.
void finishListSample(const Dataset& data, Sample& s, TemplateFields f, LeWording le)
{
    f.history = formatHistory(titlesOf(data, s.history));
    f.item_count = s.item_count;
    if (!s.candidates.empty())
        f.candidates = formatCandidates(titlesOf(data, s.candidates));
    f.intention = s.intention;
    s.prompt = renderTemplate(s.template_id, f, le);
    s.output_text = formatOutputList(titlesOf(data, s.label_items)) + "\n";
}

// The window draft for every user; users whose training sequence is too short are skipped.
std::vector<Draft> drawWindows(const Dataset& data, const SftOptions& o, int epoch, uint64_t tag, SftTask task,
                               BuildReport* report)
{
    std::vector<Draft> drafts;
    drafts.reserve(static_cast<size_t>(data.numUsers()));
    for (UserIndex u = 0; u < data.numUsers(); ++u) {
        Draft d;
        d.s.seed = streamSeed(o.task.seed, epoch, tag, static_cast<uint64_t>(u));
        d.rng.reseed(d.s.seed);
        d.s.stage = Stage::Sft;
        d.s.user = u;
        d.s.task_name = sftTaskName(task);
        if (!drawTrainWindow(data, u, d.rng, o.task.max_history, d.s.history, d.s.target)) {
            note(report, sftTaskName(task), "training sequence shorter than 2");
            continue;
        }
        drafts.push_back(std::move(d));
    }
    return drafts;
}

std::vector<std::vector<ItemId>> historiesOf(const std::vector<Draft>& drafts)
{
    std::vector<std::vector<ItemId>> h;
    h.reserve(drafts.size());
    for (const auto& d : drafts)
        h.push_back(d.s.history);
    return h;
}

const Teacher& requireTeacher(const Teacher* t, SftTask task)
{
    if (!t)
        throw CoreException(ErrorCode::InvalidConfig, std::string(sftTaskName(task)) + " needs a teacher for its labels", "teacher");
    return *t;
}

std::vector<Sample> seqRec(const Dataset& data, const Teacher& teacher, const SftOptions& o, int epoch, BuildReport* report)
{
    std::vector<Draft> drafts = drawWindows(data, o, epoch, kTagSeqRec, SftTask::SeqRec, report);
    for (auto& d : drafts) {
        d.s.task = TaskKind::SeqRec;
        d.s.item_count = static_cast<int>(d.rng.uniformInt(1, o.task.topk));
        d.s.template_id = d.rng.below(2) ? TemplateId::SeqRec1 : TemplateId::SeqRec0;
    }
    std::vector<Sample> out;
    out.reserve(drafts.size());
    forEachScored(teacher, historiesOf(drafts), o.task.teacher_batch, [&](size_t i, const ItemScores& sc) {
        Draft& d = drafts[i];
        Sample& s = d.s;
        // [target] + teacher top-k without the target, truncated to k (§2.4).
        const auto L = topkFromScores(data, sc, s.item_count, CategoryConstraint::none(), s.history, true);
        s.label_items = {s.target};
        for (ItemId id : L)
            if (id != s.target && static_cast<int>(s.label_items.size()) < s.item_count)
                s.label_items.push_back(id);
        s.item_count = static_cast<int>(s.label_items.size());
        if (s.template_id == TemplateId::SeqRec1)
            s.candidates = candidateList(data, s.label_items, s.history, o.task.topk, d.rng);
        finishListSample(data, s, {}, o.task.le_wording);
        out.push_back(std::move(s));
    });
    return out;
}

std::vector<Sample> palr(const Dataset& data, const SftOptions& o, int epoch, BuildReport* report)
{
    std::vector<Sample> out;
    for (UserIndex u = 0; u < data.numUsers(); ++u) {
        Sample s;
        s.seed = streamSeed(o.task.seed, epoch, kTagPalr, static_cast<uint64_t>(u));
        Rng rng(s.seed);
        s.stage = Stage::Sft;
        s.user = u;
        s.task = TaskKind::SeqRecPalr;
        s.task_name = sftTaskName(SftTask::SeqRecPalr);
        s.template_id = TemplateId::SeqRec0;
        size_t t = 0;
        if (!drawTrainWindow(data, u, rng, o.task.max_history, s.history, s.target, &t)) {
            note(report, s.task_name.c_str(), "training sequence shorter than 2");
            continue;
        }
        // The user's real following items S[t : t+k], k ~ U{1..min(|S|−t, 10)} (§2.4).
        const std::vector<ItemId> S = data.trainSequence(u);
        s.item_count = static_cast<int>(rng.uniformInt(1, std::min<int64_t>(static_cast<int64_t>(S.size() - t), o.task.topk)));
        s.label_items.assign(S.begin() + static_cast<std::ptrdiff_t>(t), S.begin() + static_cast<std::ptrdiff_t>(t) + s.item_count);
        finishListSample(data, s, {}, o.task.le_wording);
        out.push_back(std::move(s));
    }
    return out;
}

std::vector<Sample> personalControl(const Dataset& data, const Teacher& teacher, const SftOptions& o, int epoch,
                                    BuildReport* report)
{
    const char* name = sftTaskName(SftTask::PersonalControl);
    const std::vector<CategoryId> cats = nonEmptyCategories(data);
    if (cats.empty())
        return {};
    std::vector<Draft> drafts = drawWindows(data, o, epoch, kTagControl, SftTask::PersonalControl, report);
    for (auto& d : drafts) {
        d.plus = d.rng.bernoulli(0.5);
        d.s.template_id = d.rng.below(2) ? TemplateId::PersonalControlRec1 : TemplateId::PersonalControlRec0;
        const int intent = static_cast<int>(d.rng.below(kIntentionCount));
        d.variant = intent;
        if (d.plus) {
            // +C: C uniform over all categories, k ~ U{1..min(10, |C|)}.
            d.s.target_category = d.rng.pick(cats);
            d.s.item_count = static_cast<int>(d.rng.uniformInt(1, std::min(o.task.topk, categorySize(data, d.s.target_category))));
        }
    }
    std::vector<Sample> out;
    out.reserve(drafts.size());
    forEachScored(teacher, historiesOf(drafts), o.task.teacher_batch, [&](size_t i, const ItemScores& sc) {
        Draft& d = drafts[i];
        Sample& s = d.s;
        if (!d.plus) {
            // −C: C uniform among the categories (not containing the target) with the maximum
            // count in the teacher's top-10; k ~ U{1..min(10, |I| − |C|)}.
            const auto ref = topkFromScores(data, sc, o.task.topk, CategoryConstraint::none(), s.history, true);
            const auto best = findMaximumCategories(data, ref, s.target, false);
            if (best.empty()) {
                note(report, name, "no category without the target");
                return;
            }
            s.target_category = d.rng.pick(best);
            const int cap = std::min(o.task.topk, data.numItems() - categorySize(data, s.target_category));
            if (cap < 1) {
                note(report, name, "no item outside the category");
                return;
            }
            s.item_count = static_cast<int>(d.rng.uniformInt(1, cap));
        }
        s.task = d.plus ? TaskKind::ControlInclude : TaskKind::ControlExclude;
        s.control = d.plus ? Control::Include : Control::Exclude;
        const auto constraint = d.plus ? CategoryConstraint::include(s.target_category) : CategoryConstraint::exclude(s.target_category);
        std::vector<ItemId> L = topkFromScores(data, sc, s.item_count, constraint, s.history, true);
        if (L.empty()) {
            note(report, name, "no candidate left after removing the history");
            return;
        }
        if (auto it = std::find(L.begin(), L.end(), s.target); it != L.end())
            std::rotate(L.begin(), it, it + 1);  // the target moves to the front; order otherwise kept
        s.label_items = std::move(L);
        s.item_count = static_cast<int>(s.label_items.size());
        const std::string& C = categoryName(data, s.target_category);
        s.intention = d.plus ? positiveIntention(d.variant, C) : negativeIntention(d.variant, C);
        if (s.template_id == TemplateId::PersonalControlRec1)
            s.candidates = candidateList(data, s.label_items, s.history, o.task.topk, d.rng);
        TemplateFields f;
        f.category = C;
        finishListSample(data, s, f, o.task.le_wording);
        out.push_back(std::move(s));
    });
    return out;
}

std::vector<Sample> categoryRate(const Dataset& data, const Teacher& teacher, const SftOptions& o, int epoch,
                                 BuildReport* report)
{
    const char* name = sftTaskName(SftTask::CategoryRate);
    const std::vector<CategoryId> cats = nonEmptyCategories(data);
    if (cats.empty())
        return {};
    static const TemplateId kVariants[4] = {TemplateId::RateSftLP, TemplateId::RateSftMP, TemplateId::RateSftLC, TemplateId::RateSftMC};
    std::vector<Draft> drafts = drawWindows(data, o, epoch, kTagRate, SftTask::CategoryRate, report);
    const int k = o.task.topk;
    for (auto& d : drafts) {
        Sample& s = d.s;
        s.task = TaskKind::CategoryRate;
        s.target_category = d.rng.pick(cats);
        d.variant = static_cast<int>(d.rng.below(4));
        s.template_id = kVariants[d.variant];
        s.item_count = k;
        const int cic = std::min(categorySize(data, s.target_category), k);
        const bool less = d.variant == 0 || d.variant == 2;
        if (less) {
            // "less than tcic": tcic ~ U{1..cic}, m = tcic + choice{−1, 0}
            d.tcic = static_cast<int>(d.rng.uniformInt(1, cic));
            d.m = d.tcic - (d.rng.below(2) ? 0 : 1);
        } else {
            // "more than tcic": tcic ~ U{0..cic−1}, m = tcic + choice{+1, 0}
            d.tcic = static_cast<int>(d.rng.uniformInt(0, cic - 1));
            d.m = d.tcic + (d.rng.below(2) ? 0 : 1);
        }
        s.control = less ? Control::AtMost : Control::AtLeast;
        s.category_count = d.tcic;
        s.proportion = static_cast<double>(d.tcic) / k;
    }
    std::vector<Sample> out;
    out.reserve(drafts.size());
    forEachScored(teacher, historiesOf(drafts), o.task.teacher_batch, [&](size_t i, const ItemScores& sc) {
        Draft& d = drafts[i];
        Sample& s = d.s;
        // m teacher-top in-C items and k − m out-of-C items, shuffled (§2.4).
        std::vector<ItemId> A = topkFromScores(data, sc, d.m, CategoryConstraint::include(s.target_category), s.history, true);
        const std::vector<ItemId> B =
            topkFromScores(data, sc, k - d.m, CategoryConstraint::exclude(s.target_category), s.history, true);
        A.insert(A.end(), B.begin(), B.end());
        if (A.empty()) {
            note(report, name, "no candidate left after removing the history");
            return;
        }
        d.rng.shuffle(A);
        s.label_items = std::move(A);
        s.item_count = static_cast<int>(s.label_items.size());
        TemplateFields f;
        f.category = categoryName(data, s.target_category);
        f.category_count = d.tcic;
        f.proportion = formatPercent(static_cast<int>(std::lround(100.0 * d.tcic / k)));
        finishListSample(data, s, f, o.task.le_wording);
        out.push_back(std::move(s));
    });
    return out;
}

std::vector<Sample> controlRecRe(const Dataset& data, const SftOptions& o, int epoch, BuildReport* report)
{
    const std::vector<CategoryId> cats = nonEmptyCategories(data);
    std::vector<Sample> out;
    for (ItemId item = 1; item <= data.numItems(); ++item) {
        const auto& own = data.categoriesOf(item);
        if (own.empty()) {
            note(report, sftTaskName(SftTask::ControlRecRe), "item without a category");
            continue;
        }
        Sample s;
        s.seed = streamSeed(o.task.seed, epoch, kTagSearch, static_cast<uint64_t>(item));
        Rng rng(s.seed);
        s.stage = Stage::Sft;
        s.task_name = sftTaskName(SftTask::ControlRecRe);
        s.item = item;
        s.target = item;
        s.item_count = 1;
        s.label_items = {item};
        const int tmpl = static_cast<int>(rng.below(3));
        bool plus = rng.bernoulli(0.5);
        const int intent = static_cast<int>(rng.below(kIntentionCount));
        if (tmpl == 2) {
            // The reverse question: a random category of the item.
            s.task = TaskKind::CategoryQuestion;
            s.template_id = TemplateId::ControlRecReverse;
            s.target_category = rng.pick(own);
            TemplateFields f;
            f.item = data.title(item);
            s.prompt = renderTemplate(s.template_id, f, o.task.le_wording);
            s.output_text = formatCategoryAnswer(data.title(item), categoryName(data, s.target_category));
            out.push_back(std::move(s));
            continue;
        }
        std::vector<CategoryId> others;
        if (!plus) {
            for (CategoryId c : cats)
                if (!data.inCategory(item, c))
                    others.push_back(c);
            if (others.empty())
                plus = true;
        }
        s.task = TaskKind::ItemSearch;
        s.control = plus ? Control::Include : Control::Exclude;
        s.target_category = plus ? rng.pick(own) : rng.pick(others);
        const std::string& C = categoryName(data, s.target_category);
        s.intention = plus ? positiveIntention(intent, C) : negativeIntention(intent, C);
        s.template_id = tmpl == 1 ? TemplateId::ControlRec1 : TemplateId::ControlRec0;
        if (tmpl == 1)
            s.candidates = candidateList(data, s.label_items, {}, o.task.topk, rng);
        TemplateFields f;
        f.category = C;
        finishListSample(data, s, f, o.task.le_wording);
        out.push_back(std::move(s));
    }
    return out;
}

std::vector<Sample> shareGpt(const Dataset& data, const SftOptions& o, int epoch, long count)
{
    std::shared_ptr<const std::vector<Conversation>> conv = o.general;
    if (!conv)
        conv = std::make_shared<const std::vector<Conversation>>(catalogueConversations(data, o.task.seed));
    std::vector<Sample> out;
    out.reserve(static_cast<size_t>(std::max(count, 0L)));
    for (long i = 0; i < count; ++i) {
        const uint64_t seed = streamSeed(o.task.seed, epoch, kTagGeneral, static_cast<uint64_t>(i));
        Rng rng(seed);
        Sample s = buildGeneralSample(*conv, rng, o.general_options);
        s.seed = seed;
        s.stage = Stage::Sft;
        out.push_back(std::move(s));
    }
    return out;
}

}  // namespace build_sft_detail

std::vector<Sample> buildSftTask(SftTask task, const Dataset& data, const Teacher* teacher, const SftOptions& options,
                                 int epoch, long count, BuildReport* report)
{
    using namespace build_sft_detail;
    validateTaskOptions(options.task);
    if (options.share_gpt_ratio < 0)
        throw CoreException(ErrorCode::InvalidConfig, "sft.share_gpt_ratio: expected >= 0", "sft.share_gpt_ratio");
    std::vector<Sample> out;
    switch (task) {
    case SftTask::SeqRec: out = seqRec(data, requireTeacher(teacher, task), options, epoch, report); break;
    case SftTask::SeqRecPalr: out = palr(data, options, epoch, report); break;
    case SftTask::PersonalControl: out = personalControl(data, requireTeacher(teacher, task), options, epoch, report); break;
    case SftTask::CategoryRate: out = categoryRate(data, requireTeacher(teacher, task), options, epoch, report); break;
    case SftTask::ControlRecRe: out = controlRecRe(data, options, epoch, report); break;
    case SftTask::ShareGpt: out = shareGpt(data, options, epoch, count); break;
    }
    if (report)
        report->produced[sftTaskName(task)] += static_cast<long>(out.size());
    return out;
}

std::vector<Sample> buildSftEpoch(const Dataset& data, const Teacher* teacher, const SftOptions& options, int epoch,
                                  BuildReport* report)
{
    std::vector<SftTask> tasks;
    switch (options.mix) {
    case SftMix::V1: tasks = {SftTask::SeqRec}; break;
    case SftMix::V2: tasks = {SftTask::SeqRec, SftTask::PersonalControl, SftTask::ControlRecRe, SftTask::CategoryRate}; break;
    case SftMix::Palr: tasks = {SftTask::SeqRecPalr}; break;
    }
    std::vector<Sample> all;
    for (SftTask t : tasks) {
        std::vector<Sample> part = buildSftTask(t, data, teacher, options, epoch, 0, report);
        all.insert(all.end(), std::make_move_iterator(part.begin()), std::make_move_iterator(part.end()));
    }
    const bool noGeneral = options.general && options.general->empty();  // I4 skipped
    if (options.mix == SftMix::V2 && options.share_gpt_ratio > 0 && !noGeneral) {
        const long n = static_cast<long>(options.share_gpt_ratio * static_cast<double>(all.size()));
        std::vector<Sample> part = buildSftTask(SftTask::ShareGpt, data, teacher, options, epoch, n, report);
        all.insert(all.end(), std::make_move_iterator(part.begin()), std::make_move_iterator(part.end()));
    }
    if (options.shuffle) {
        Rng rng(build_detail::streamSeed(options.task.seed, epoch, build_detail::kTagShuffle, 0));
        rng.shuffle(all);
    }
    return all;
}

}  // namespace recalign::core
