// Dataset: split helpers, statistics and fingerprint.
#include "core/data/dataset.h"

#include "core/util/hash.h"

#include <algorithm>
#include <numeric>

namespace recalign::core {

bool Dataset::inCategory(ItemId id, CategoryId c) const
{
    const auto& cats = categoriesOf(id);
    return std::find(cats.begin(), cats.end(), c) != cats.end();
}

std::vector<ItemId> Dataset::trainSequence(UserIndex u) const
{
    const auto& s = users[static_cast<size_t>(u)].sequence;
    if (s.size() < 3)
        return s;  // too short for valid/test: everything is training data
    return std::vector<ItemId>(s.begin(), s.end() - 2);
}

ItemId Dataset::validTarget(UserIndex u) const
{
    const auto& s = users[static_cast<size_t>(u)].sequence;
    return s.size() >= 3 ? s[s.size() - 2] : 0;
}

ItemId Dataset::testTarget(UserIndex u) const
{
    const auto& s = users[static_cast<size_t>(u)].sequence;
    return s.size() >= 3 ? s.back() : 0;
}

namespace dataset_detail {
std::vector<ItemId> window(const std::vector<ItemId>& s, size_t end, int maxLen)
{
    const size_t begin = end > static_cast<size_t>(maxLen) ? end - static_cast<size_t>(maxLen) : 0;
    return std::vector<ItemId>(s.begin() + static_cast<std::ptrdiff_t>(begin),
                               s.begin() + static_cast<std::ptrdiff_t>(end));
}
}  // namespace dataset_detail

std::vector<ItemId> Dataset::validHistory(UserIndex u, int maxLen) const
{
    const auto& s = users[static_cast<size_t>(u)].sequence;
    if (s.size() < 3)
        return {};
    return dataset_detail::window(s, s.size() - 2, maxLen);
}

std::vector<ItemId> Dataset::testHistory(UserIndex u, int maxLen) const
{
    const auto& s = users[static_cast<size_t>(u)].sequence;
    if (s.size() < 3)
        return {};
    return dataset_detail::window(s, s.size() - 1, maxLen);
}

void Dataset::finalize()
{
    stats.users = numUsers();
    stats.items = numItems();
    stats.categories = numCategories();
    std::vector<size_t> lengths;
    lengths.reserve(users.size());
    long interactions = 0;
    long shortUsers = 0;
    for (const auto& u : users) {
        lengths.push_back(u.sequence.size());
        interactions += static_cast<long>(u.sequence.size());
        if (u.sequence.size() < 3)
            ++shortUsers;
    }
    stats.interactions = interactions;
    stats.users_too_short_for_eval = shortUsers;
    stats.mean_sequence_length = users.empty() ? 0.0 : double(interactions) / double(users.size());
    if (!lengths.empty()) {
        std::sort(lengths.begin(), lengths.end());
        const size_t n = lengths.size();
        stats.median_sequence_length = n % 2 ? double(lengths[n / 2]) : 0.5 * double(lengths[n / 2 - 1] + lengths[n / 2]);
    }
    const double cells = double(stats.users) * double(std::max<long>(stats.items, 1));
    stats.sparsity = cells > 0 ? 1.0 - double(interactions) / cells : 0.0;

    Sha256 h;
    for (size_t i = 1; i < items.size(); ++i) {
        h.update(items[i].raw_id);
        h.update("\x1f", 1);
        h.update(items[i].title);
        for (CategoryId c : items[i].categories)
            h.update(&c, sizeof(c));
        h.update("\x1e", 1);
    }
    for (const auto& c : categories) {
        h.update(c.name);
        h.update("\x1e", 1);
    }
    for (const auto& u : users) {
        h.update(u.raw_id);
        h.update(u.sequence.data(), u.sequence.size() * sizeof(ItemId));
        h.update("\x1e", 1);
    }
    fingerprint = h.hexDigest();
}

}  // namespace recalign::core
