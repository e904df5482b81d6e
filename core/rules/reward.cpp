// Legality, the seed's reward (default) and the released NR-20 reward (option `recai`).
#include "core/rules/reward.h"

#include "core/api/error.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <unordered_set>

namespace recalign::core {

const char* legalityName(Legality l)
{
    switch (l) {
    case Legality::Legal: return "legal";
    case Legality::BeyondCount: return "beyond_k";
    case Legality::NonExistent: return "non_existent";
    case Legality::Duplicate: return "duplicate";
    case Legality::InHistory: return "in_history";
    }
    return "?";
}

const char* rewardVariantName(RewardVariant v) { return v == RewardVariant::Paper ? "paper" : "recai"; }

RewardVariant parseRewardVariant(const std::string& name)
{
    if (name == "paper")
        return RewardVariant::Paper;
    if (name == "recai")
        return RewardVariant::Recai;
    throw CoreException(ErrorCode::InvalidConfig, "reward.variant: '" + name + "' is not one of paper, recai", "reward.variant");
}

std::vector<Legality> judgeLegality(const std::vector<ItemId>& items, const Sample& s)
{
    const std::unordered_set<ItemId> history(s.history.begin(), s.history.end());
    std::unordered_set<ItemId> seen;
    std::vector<Legality> out;
    out.reserve(items.size());
    for (size_t i = 0; i < items.size(); ++i) {
        const ItemId it = items[i];
        Legality l = Legality::Legal;
        if (static_cast<int>(i) >= s.item_count)
            l = Legality::BeyondCount;
        else if (it <= 0)
            l = Legality::NonExistent;
        else if (seen.count(it))
            l = Legality::Duplicate;
        else if (history.count(it))
            l = Legality::InHistory;
        if (it > 0)
            seen.insert(it);  // every earlier mapped item counts for "duplicate"
        out.push_back(l);
    }
    return out;
}

double RewardResult::itemRewardSum() const
{
    double s = 0;
    for (const auto& it : items)
        s += it.reward;
    return s;
}

std::vector<double> RewardResult::itemRewards() const
{
    std::vector<double> r;
    r.reserve(items.size());
    for (const auto& it : items)
        r.push_back(it.reward);
    return r;
}

double recaiNormaliser(int k)
{
    double b = 0;
    for (int j = 0; j < k; ++j) {
        const double l = std::log2(j + 2.0);
        b += 1.0 / (l * l);
    }
    return b;
}

namespace reward_detail {

// task_i of RECLM-GEN §5.3 for a legal item, with running counts including the item.
double taskScore(Control c, bool inC, int cntIn, int cntOut, int k, int cc)
{
    switch (c) {
    case Control::None: return 0.0;
    case Control::Include: return inC ? 1.0 : 0.0;
    case Control::Exclude: return inC ? 0.0 : 1.0;
    case Control::AtMost:
        if (cntOut > k - cc)
            return 0.5;
        if (!inC)
            return 1.0;
        return cntIn < cc ? 0.5 : 0.0;
    case Control::AtLeast:
        if (cntIn > cc)
            return 0.5;
        if (inC)
            return 1.0;
        return cntOut < k - cc ? 0.5 : 0.0;
    case Control::About:
        if (inC)
            return cntIn <= cc ? 1.0 : 0.0;
        if (cntIn >= cc)
            return 1.0;
        return cntOut <= k - cc ? 0.5 : 0.0;
    }
    return 0.0;
}

double invLog2Plus2(double x) { return 1.0 / std::log2(x + 2.0); }

}  // namespace reward_detail

RewardResult computeReward(const Sample& s, const Dataset& data, const std::vector<ItemId>& items,
                           const std::vector<std::string>& titles, const std::vector<int64_t>& ranks,
                           const RewardOptions& options)
{
    using namespace reward_detail;
    if (s.task == TaskKind::CategoryQuestion || s.task == TaskKind::General)
        throw CoreException(ErrorCode::InvalidConfig,
                            std::string("reward: task '") + taskKindName(s.task) + "' has no list reward", "reward");
    if (ranks.size() != items.size())
        throw CoreException(ErrorCode::Internal, "reward: " + std::to_string(ranks.size()) + " ranks for " +
                                                     std::to_string(items.size()) + " items");
    const bool hasCategory = s.target_category >= 0 && s.target_category < data.numCategories();
    if (s.control != Control::None && !hasCategory)
        throw CoreException(ErrorCode::InvalidConfig,
                            std::string("reward: control '") + controlName(s.control) + "' needs a target category", "reward");
    const double a = options.alpha;
    RewardResult r;
    r.variant = options.variant;
    r.item_level = options.item_level;
    r.control = s.control;
    r.k = s.item_count;
    r.category_count = s.category_count;
    r.k_times_m = s.item_count * s.proportion;
    r.category_size = hasCategory ? static_cast<int>(data.categories[static_cast<size_t>(s.target_category)].members.size()) : 0;
    const bool control = s.control != Control::None;
    const std::vector<Legality> legality = judgeLegality(items, s);

    for (size_t i = 0; i < items.size(); ++i) {
        ItemReward it;
        it.position = static_cast<int>(i);
        it.item = items[i];
        it.title = i < titles.size() ? titles[i] : std::string();
        it.legality = legality[i];
        it.in_category = hasCategory && it.item > 0 && data.inCategory(it.item, s.target_category);
        it.is_target = s.target > 0 && it.item == s.target;
        it.has_control = control;
        const double discount = std::log2(static_cast<double>(i) + 2.0);
        if (it.legality != Legality::Legal) {
            it.score = -1.0;
            it.control = control ? -1.0 : 0.0;
            it.discounted = -1.0;  // both variants: −1 without the position discount
        } else {
            it.rank = ranks[i];
            (it.in_category ? r.count_in : r.count_out) += 1;
            ++r.legal;
            it.score = it.is_target ? 1.0 : invLog2Plus2(static_cast<double>(it.rank) + 1.0);  // 1/log2(ρ+3)
            it.control = control ? taskScore(s.control, it.in_category, r.count_in, r.count_out, s.item_count, s.category_count) : 0.0;
            it.discounted = it.score / discount;
        }
        it.count_in = r.count_in;
        it.count_out = r.count_out;
        // R_item = Scores (I0-type) or a·Scores + (1−a)·Scores^ctl; both variants agree here.
        const double itemReward = control ? a * it.score + (1.0 - a) * it.control : it.score;
        it.reward = options.item_level ? itemReward : 0.0;
        r.sum_discounted += it.discounted;
        r.items.push_back(std::move(it));
    }

    const int k = s.item_count;
    if (options.variant == RewardVariant::Paper) {
        r.normaliser = 1.0;
        switch (s.control) {
        case Control::None: r.control_list = r.sum_discounted; break;
        case Control::Include: r.control_list = invLog2Plus2(k - r.count_in); break;
        case Control::Exclude: r.control_list = invLog2Plus2(k - r.count_out); break;
        case Control::AtMost: r.control_list = invLog2Plus2(std::max(r.count_in - r.k_times_m, 0.0)); break;
        case Control::AtLeast: r.control_list = invLog2Plus2(std::max(r.k_times_m - r.count_in, 0.0)); break;
        case Control::About: r.control_list = invLog2Plus2(std::abs(r.count_in - r.k_times_m)); break;
        }
        r.list_reward = a * r.sum_discounted + (1.0 - a) * r.control_list;
    } else {
        r.normaliser = recaiNormaliser(k);
        const int cc = s.category_count;
        switch (s.control) {
        case Control::None: {
            r.control_list = 0.0;
            for (size_t i = 0; i < items.size(); ++i)
                if (s.target > 0 && items[i] == s.target) {
                    r.control_list = 1.0 / std::log2(static_cast<double>(i) + 2.0);
                    break;
                }
            break;
        }
        case Control::Include: {
            const int T = std::min(k, r.category_size);
            r.control_list = 1.0 / (std::max(T - r.count_in, 0) + 1.0);
            break;
        }
        case Control::Exclude: r.control_list = 1.0 / (std::max(k - r.count_out, 0) + 1.0); break;
        case Control::AtMost:
        case Control::AtLeast:
        case Control::About: {
            const bool ok = s.control == Control::AtMost ? r.count_in <= cc
                          : s.control == Control::AtLeast ? r.count_in >= cc
                                                          : r.count_in == cc;
            r.control_list = ok ? 1.0 : 1.0 / (std::abs(r.count_in - cc) + 1.0);
            break;
        }
        }
        const double rankTerm = r.normaliser > 0 ? r.sum_discounted / r.normaliser : 0.0;
        r.list_reward = 10.0 * (a * rankTerm + (1.0 - a) * r.control_list);
    }
    return r;
}

RewardResult rewardForOutput(const Sample& s, const Dataset& data, const std::vector<ParsedLine>& parsed,
                             const ItemScores& scores, const RewardOptions& options)
{
    std::vector<ItemId> items;
    std::vector<std::string> titles;
    items.reserve(parsed.size());
    for (const auto& p : parsed) {
        items.push_back(p.exact_item);
        titles.push_back(p.title);
    }
    const std::vector<int64_t> ranks = ranksFromScores(scores, items);
    return computeReward(s, data, items, titles, ranks, options);
}

nlohmann::json rewardToJson(const RewardResult& r)
{
    nlohmann::json items = nlohmann::json::array();
    for (const auto& it : r.items) {
        nlohmann::json j = {{"position", it.position},   {"item", it.item},
                            {"title", it.title},         {"legality", legalityName(it.legality)},
                            {"in_category", it.in_category}, {"is_target", it.is_target},
                            {"rank", it.rank},           {"score", it.score},
                            {"discounted", it.discounted}, {"reward", it.reward},
                            {"count_in", it.count_in},   {"count_out", it.count_out}};
        if (it.has_control)
            j["control"] = it.control;
        items.push_back(std::move(j));
    }
    const bool paper = r.variant == RewardVariant::Paper;
    return {{"variant", rewardVariantName(r.variant)},
            {"item_level", r.item_level},
            {"control", controlName(r.control)},
            {"k", r.k},
            {"category_count", r.category_count},
            {"k_times_m", r.k_times_m},
            {"category_size", r.category_size},
            {"count_in", r.count_in},
            {"count_out", r.count_out},
            {"legal", r.legal},
            {paper ? "sum_scores_star" : "sum_rank_corr", r.sum_discounted},
            {"normaliser", r.normaliser},
            {paper ? "score_ctl_list" : "l_task", r.control_list},
            {"list_reward", r.list_reward},
            {"item_reward_sum", r.itemRewardSum()},
            {"items", std::move(items)}};
}

}  // namespace recalign::core
