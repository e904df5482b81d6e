// Helpers shared by the sample builders: titles, batched teacher scoring, candidate lists,
// find_maximum_category and the train window.
#include "core/rules/build_common.h"

#include "core/api/error.h"

#include <algorithm>
#include <unordered_set>

namespace recalign::core {

namespace build_detail {

std::vector<std::string> titlesOf(const Dataset& data, const std::vector<ItemId>& ids)
{
    std::vector<std::string> out;
    out.reserve(ids.size());
    for (ItemId id : ids)
        out.push_back(data.title(id));
    return out;
}

void forEachScored(const Teacher& teacher, const std::vector<std::vector<ItemId>>& histories, int batch,
                   const std::function<void(size_t, const ItemScores&)>& fn)
{
    const size_t step = static_cast<size_t>(std::max(batch, 1));
    for (size_t b = 0; b < histories.size(); b += step) {
        const size_t e = std::min(histories.size(), b + step);
        const std::vector<std::vector<ItemId>> chunk(histories.begin() + static_cast<std::ptrdiff_t>(b),
                                                     histories.begin() + static_cast<std::ptrdiff_t>(e));
        const std::vector<ItemScores> scores = teacher.scoreBatch(chunk);
        for (size_t i = b; i < e; ++i)
            fn(i, scores[i - b]);
    }
}

std::vector<ItemId> candidateList(const Dataset& data, const std::vector<ItemId>& labels,
                                  const std::vector<ItemId>& history, int total, Rng& rng)
{
    std::unordered_set<ItemId> used(labels.begin(), labels.end());
    used.insert(history.begin(), history.end());
    std::vector<ItemId> out = labels;
    const long available = static_cast<long>(data.numItems()) - static_cast<long>(used.size());
    const long need = std::min<long>(static_cast<long>(total) - static_cast<long>(out.size()), available);
    for (long added = 0; added < need;) {
        const ItemId id = static_cast<ItemId>(rng.uniformInt(1, data.numItems()));
        if (used.insert(id).second) {
            out.push_back(id);
            ++added;
        }
    }
    rng.shuffle(out);
    return out;
}

std::vector<CategoryId> nonEmptyCategories(const Dataset& data)
{
    std::vector<CategoryId> out;
    for (CategoryId c = 0; c < data.numCategories(); ++c)
        if (!data.categories[static_cast<size_t>(c)].members.empty())
            out.push_back(c);
    return out;
}

int categorySize(const Dataset& data, CategoryId c)
{
    return static_cast<int>(data.categories[static_cast<size_t>(c)].members.size());
}

const std::string& categoryName(const Dataset& data, CategoryId c) { return data.categories[static_cast<size_t>(c)].name; }

}  // namespace build_detail

void validateTaskOptions(const TaskOptions& o)
{
    auto check = [](bool ok, const char* key, const std::string& what) {
        if (!ok)
            throw CoreException(ErrorCode::InvalidConfig, std::string(key) + ": " + what, key);
    };
    check(o.max_history >= 1, "tasks.max_history", "expected >= 1, got " + std::to_string(o.max_history));
    check(o.topk >= 1, "tasks.topk", "expected >= 1, got " + std::to_string(o.topk));
    check(o.teacher_batch >= 1, "tasks.teacher_batch", "expected >= 1, got " + std::to_string(o.teacher_batch));
}

std::vector<CategoryId> findMaximumCategories(const Dataset& data, const std::vector<ItemId>& refList, ItemId target,
                                              bool rlSemantics, int minCount)
{
    std::vector<int> counts(static_cast<size_t>(data.numCategories()), 0);
    for (ItemId id : refList)
        if (id > 0 && id <= data.numItems())
            for (CategoryId c : data.categoriesOf(id))
                ++counts[static_cast<size_t>(c)];
    std::vector<CategoryId> eligible;
    int maxCount = 0;
    for (CategoryId c = 0; c < data.numCategories(); ++c) {
        if (data.categories[static_cast<size_t>(c)].members.empty())
            continue;
        if (target > 0 && data.inCategory(target, c))
            continue;
        eligible.push_back(c);
        maxCount = std::max(maxCount, counts[static_cast<size_t>(c)]);
    }
    const int threshold = rlSemantics ? std::min(minCount, maxCount) : maxCount;
    std::vector<CategoryId> out;
    for (CategoryId c : eligible)
        if (rlSemantics ? counts[static_cast<size_t>(c)] >= threshold : counts[static_cast<size_t>(c)] == threshold)
            out.push_back(c);
    return out;
}

bool drawTrainWindow(const Dataset& data, UserIndex u, Rng& rng, int maxHistory, std::vector<ItemId>& history,
                     ItemId& target, size_t* targetIndex)
{
    const std::vector<ItemId> S = data.trainSequence(u);
    if (S.size() < 2)
        return false;
    const int64_t t = rng.uniformInt(1, static_cast<int64_t>(S.size()) - 1);
    const int64_t s = rng.uniformInt(std::max<int64_t>(0, t - maxHistory), t - 1);
    history.assign(S.begin() + s, S.begin() + t);
    target = S[static_cast<size_t>(t)];
    if (targetIndex)
        *targetIndex = static_cast<size_t>(t);
    return true;
}

}  // namespace recalign::core
