// The import pipeline: filter, de-duplicate, sort, k-core, ids, categories (RECLM-GEN §1.2).
#include "core/data/pipeline.h"

#include "core/api/error.h"
#include "core/util/strings.h"

#include <algorithm>
#include <unordered_map>
#include <unordered_set>

namespace recalign::core {

bool RawData::addItem(RawItem item)
{
    auto [it, inserted] = item_index.emplace(item.raw_id, static_cast<int32_t>(items.size()));
    if (!inserted)
        return false;
    items.push_back(std::move(item));
    return true;
}

int32_t RawData::userIndex(const std::string& rawUser)
{
    if (auto it = user_index.find(rawUser); it != user_index.end())
        return it->second;
    const auto index = static_cast<int32_t>(user_ids.size());
    user_index.emplace(rawUser, index);
    user_ids.push_back(rawUser);
    return index;
}

void RawData::addInteraction(const std::string& rawUser, const std::string& rawItem, double rating, int64_t timestamp)
{
    RawInteraction r;
    r.user = userIndex(rawUser);
    auto it = item_index.find(rawItem);
    r.item = it == item_index.end() ? -1 : it->second;
    r.rating = rating;
    r.timestamp = timestamp;
    interactions.push_back(r);
}

namespace pipeline_detail {

struct Event {
    int32_t item;
    int64_t timestamp;
};

std::string count(long n)
{
    std::string s = std::to_string(n);
    for (int i = static_cast<int>(s.size()) - 3; i > (s[0] == '-' ? 1 : 0); i -= 3)
        s.insert(static_cast<size_t>(i), ",");
    return s;
}

// 1. Catalogue: items need a title and (unless "other") a category. Returns which raw items stay.
std::vector<char> cleanCatalogue(RawData& raw, const PipelineOptions& options, DatasetStats& st)
{
    const size_t nRaw = raw.items.size();
    std::vector<char> keepItem(nRaw, 0);
    for (size_t i = 0; i < nRaw; ++i) {
        RawItem& it = raw.items[i];
        it.title = str::normalizeSpace(it.title);
        std::vector<std::string> cats;
        for (auto& c : it.categories) {
            std::string n = str::normalizeSpace(c);
            if (!n.empty() && std::find(cats.begin(), cats.end(), n) == cats.end())
                cats.push_back(std::move(n));
        }
        if (cats.empty() && options.uncategorized == DatasetConfig::Uncategorized::Other)
            cats.push_back("Other");
        it.categories = std::move(cats);
        keepItem[i] = !it.title.empty() && !it.categories.empty();
        if (!keepItem[i])
            ++st.items_without_title_or_category;
    }

    return keepItem;
}

// 2. Interactions in file order: unknown / dropped items, rating filter, then de-duplication.
// Returns each user's events (users in order of their first kept interaction) and their raw users.
std::pair<std::vector<std::vector<Event>>, std::vector<int32_t>> collectInteractions(
    RawData& raw, const std::vector<char>& keepItem, const PipelineOptions& options, DatasetStats& st)
{
    {
        std::unordered_set<int32_t> withInteractions;
        for (const auto& r : raw.interactions)
            if (r.item >= 0)
                withInteractions.insert(r.item);
        st.raw_items_with_interactions = static_cast<long>(withInteractions.size());
    }
    std::vector<std::vector<Event>> perUser;  // in order of the user's first kept interaction
    std::vector<int32_t> userSlot(raw.user_ids.size(), -1);
    std::vector<int32_t> slotUser;
    for (const auto& r : raw.interactions) {
        if (r.item < 0) {
            ++st.interactions_unknown_item;
            continue;
        }
        if (!keepItem[static_cast<size_t>(r.item)]) {
            ++st.interactions_dropped_item;
            continue;
        }
        if (r.rating < options.min_rating) {
            ++st.below_min_rating;
            continue;
        }
        int32_t& slot = userSlot[static_cast<size_t>(r.user)];
        if (slot < 0) {
            slot = static_cast<int32_t>(perUser.size());
            perUser.emplace_back();
            slotUser.push_back(r.user);
        }
        perUser[static_cast<size_t>(slot)].push_back({r.item, r.timestamp});
    }
    raw.interactions.clear();
    raw.interactions.shrink_to_fit();
    // De-duplicate (user, item) per user, keeping the first occurrence in file order.
    {
        std::unordered_set<int32_t> seen;
        for (auto& seq : perUser) {
            seen.clear();
            size_t kept = 0;
            for (size_t i = 0; i < seq.size(); ++i)
                if (seen.insert(seq[i].item).second)
                    seq[kept++] = seq[i];
            st.duplicate_interactions += static_cast<long>(seq.size() - kept);
            seq.resize(kept);
        }
    }

    return {std::move(perUser), std::move(slotUser)};
}

// 4. Iterative k-core over the users' sequences (removes events in place). Returns which users stay.
std::vector<char> kCore(std::vector<std::vector<Event>>& perUser, size_t nRaw, const PipelineOptions& options)
{
    std::vector<char> userAlive(perUser.size(), 1);
    std::vector<char> itemAlive(nRaw, 1);
    std::vector<long> itemCount(nRaw, 0);
    for (;;) {
        bool changed = false;
        std::fill(itemCount.begin(), itemCount.end(), 0);
        for (size_t u = 0; u < perUser.size(); ++u)
            if (userAlive[u])
                for (const auto& e : perUser[u])
                    ++itemCount[static_cast<size_t>(e.item)];
        for (size_t i = 0; i < nRaw; ++i) {
            if (itemAlive[i] && itemCount[i] > 0 && itemCount[i] < options.item_core) {
                itemAlive[i] = 0;
                changed = true;
            }
        }
        for (size_t u = 0; u < perUser.size(); ++u) {
            if (!userAlive[u])
                continue;
            auto& seq = perUser[u];
            const size_t n0 = seq.size();
            seq.erase(std::remove_if(seq.begin(), seq.end(),
                                     [&](const Event& e) { return !itemAlive[static_cast<size_t>(e.item)]; }),
                      seq.end());
            if (seq.size() != n0)
                changed = true;
            if (seq.empty() || static_cast<long>(seq.size()) < options.user_core) {
                userAlive[u] = 0;
                changed = true;
            }
        }
        if (!changed)
            break;
    }
    return userAlive;
}

// 6. Categories in creation order (walking items by id, each item's names in source order).
void assignCategories(Dataset& d, const RawData& raw, const std::vector<ItemId>& itemId)
{
    const size_t nRaw = raw.items.size();
    std::unordered_map<std::string, CategoryId> catId;
    std::vector<size_t> rawOf(d.items.size(), 0);
    for (size_t r = 0; r < nRaw; ++r)
        if (itemId[r] > 0)
            rawOf[static_cast<size_t>(itemId[r])] = r;
    for (size_t id = 1; id < d.items.size(); ++id) {
        auto& cats = d.items[id].categories;
        for (const auto& name : raw.items[rawOf[id]].categories) {
            auto [it, inserted] = catId.emplace(name, static_cast<CategoryId>(d.categories.size()));
            if (inserted)
                d.categories.push_back(Category{name, {}});
            cats.push_back(it->second);
        }
        std::sort(cats.begin(), cats.end());
        cats.erase(std::unique(cats.begin(), cats.end()), cats.end());
        for (CategoryId c : cats)
            d.categories[static_cast<size_t>(c)].members.push_back(static_cast<ItemId>(id));
    }

}

}  // namespace pipeline_detail

Dataset buildDataset(RawData raw, const PipelineOptions& options)
{
    using pipeline_detail::count;
    using pipeline_detail::Event;
    if (options.user_core < 0 || options.item_core < 0)
        throw CoreException(ErrorCode::InvalidConfig, "user_core / item_core: expected >= 0", "user_core");

    DatasetStats st;
    st.raw_users = static_cast<long>(raw.user_ids.size());
    st.raw_items = static_cast<long>(raw.items.size());
    st.raw_interactions = static_cast<long>(raw.interactions.size());
    st.raw_category_labels = raw.raw_category_labels;
    st.user_core = options.user_core;
    st.item_core = options.item_core;
    st.min_rating = options.min_rating;

    // 1. Catalogue.
    const size_t nRaw = raw.items.size();
    const std::vector<char> keepItem = pipeline_detail::cleanCatalogue(raw, options, st);

    // 2. Interactions.
    auto [perUser, slotUser] = pipeline_detail::collectInteractions(raw, keepItem, options, st);

    // 3. Stable time sort (ties keep file order).
    long before = 0;
    for (auto& seq : perUser) {
        std::stable_sort(seq.begin(), seq.end(), [](const Event& a, const Event& b) { return a.timestamp < b.timestamp; });
        before += static_cast<long>(seq.size());
    }
    st.users_before_kcore = static_cast<long>(perUser.size());
    st.interactions_before_kcore = before;
    {
        std::unordered_set<int32_t> items;
        for (const auto& seq : perUser)
            for (const auto& e : seq)
                items.insert(e.item);
        st.items_before_kcore = static_cast<long>(items.size());
    }
    if (before == 0) {
        throw CoreException(
            ErrorCode::DataLoad,
            raw.name + ": no interactions left after filtering (" + count(st.raw_interactions) + " read; " +
                count(st.interactions_unknown_item) + " of items not in the catalogue, " +
                count(st.interactions_dropped_item) + " of items without a title or category, " +
                count(st.below_min_rating) + " below the minimum rating)");
    }

    // 4. Iterative k-core.
    const std::vector<char> userAlive = pipeline_detail::kCore(perUser, nRaw, options);
    long usersLeft = 0;
    for (char a : userAlive)
        usersLeft += a;
    if (usersLeft == 0) {
        throw CoreException(
            ErrorCode::DataLoad,
            raw.name + ": the k-core filter (users >= " + std::to_string(options.user_core) + ", items >= " +
                std::to_string(options.item_core) + " interactions) removed every user; before it there were " +
                count(st.users_before_kcore) + " users, " + count(st.items_before_kcore) + " items and " +
                count(st.interactions_before_kcore) + " interactions. Lower user_core / item_core.",
            "user_core");
    }

    // 5. Dense ids: users in order, items as first met walking the users' sequences.
    Dataset d;
    d.name = raw.name;
    d.source = raw.source;
    d.items.emplace_back();  // padding
    std::vector<ItemId> itemId(nRaw, 0);
    for (size_t u = 0; u < perUser.size(); ++u) {
        if (!userAlive[u])
            continue;
        User user;
        user.raw_id = raw.user_ids[static_cast<size_t>(slotUser[u])];
        user.sequence.reserve(perUser[u].size());
        user.timestamps.reserve(perUser[u].size());
        for (const auto& e : perUser[u]) {
            ItemId& id = itemId[static_cast<size_t>(e.item)];
            if (id == 0) {
                id = static_cast<ItemId>(d.items.size());
                RawItem& ri = raw.items[static_cast<size_t>(e.item)];
                Item item;
                item.raw_id = std::move(ri.raw_id);
                item.title = std::move(ri.title);
                item.extra = std::move(ri.extra);
                d.items.push_back(std::move(item));
            }
            user.sequence.push_back(id);
            user.timestamps.push_back(e.timestamp);
        }
        d.users.push_back(std::move(user));
    }
    st.users_dropped_kcore = st.users_before_kcore - static_cast<long>(d.users.size());
    st.items_dropped_kcore = st.items_before_kcore - (static_cast<long>(d.items.size()) - 1);

    // 6. Categories.
    pipeline_detail::assignCategories(d, raw, itemId);

    // 7. Duplicate titles (the title index maps them to the first item).
    std::unordered_set<std::string> titles;
    for (size_t id = 1; id < d.items.size(); ++id)
        if (!titles.insert(d.items[id].title).second)
            ++st.duplicate_titles;

    d.stats = std::move(st);
    d.finalize();
    return d;
}

}  // namespace recalign::core
