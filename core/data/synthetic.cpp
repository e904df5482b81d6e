// The synthetic default dataset (generative process documented in synthetic.h).
#include "core/data/synthetic.h"

#include "core/api/error.h"
#include "core/data/pipeline.h"
#include "core/util/rng.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <unordered_set>

namespace recalign::core {

namespace synthetic_detail {

// ---- PRNG: core/util/rng.h's xoshiro256** with the multiply-shift mapping (identical on every
// platform; the dataset's sequences depend on the mapping) -----------------------------------------
using Rng = Xoshiro256;

// ---- Vocabulary ---------------------------------------------------------------------------------
struct SubGenre {
    const char* name;
    std::vector<const char*> nouns;
};
struct Genre {
    const char* name;
    std::vector<const char*> adjectives;
    std::vector<const char*> nouns;  // for items without a sub-genre, and "X of the Y" endings
    std::vector<SubGenre> subs;
};

const std::vector<Genre>& genres()
{
    static const std::vector<Genre> kGenres = {
        {"Science Fiction",
         {"Quantum", "Stellar", "Orbital", "Neon", "Binary", "Solar", "Galactic", "Cosmic", "Synthetic", "Lunar",
          "Electric", "Chrome", "Infinite", "Silent", "Frozen", "Distant"},
         {"Horizon", "Signal", "Colony", "Frontier", "Protocol", "Machine", "Nebula", "Vector"},
         {{"Space Opera", {"Armada", "Empire", "Starship", "Fleet", "Nova", "Eclipse", "Voyager", "Comet"}},
          {"Cyberpunk", {"Circuit", "Grid", "Cipher", "Android", "Network", "Glitch", "Implant", "Mainframe"}},
          {"Time Travel", {"Paradox", "Loop", "Clockwork", "Timeline", "Epoch", "Century", "Rewind", "Chronicle"}}}},
        {"Fantasy",
         {"Enchanted", "Ancient", "Crimson", "Golden", "Hidden", "Forgotten", "Shadow", "Silver", "Emerald",
          "Wandering", "Cursed", "Eternal", "Mystic", "Broken", "Sacred", "Winter"},
         {"Kingdom", "Crown", "Realm", "Oath", "Throne", "Legend", "Rune", "Tower"},
         {{"Epic Quest", {"Dragon", "Quest", "Prophecy", "Heir", "Journey", "Citadel", "Relic", "Pilgrim"}},
          {"Fairy Tale", {"Princess", "Forest", "Witch", "Castle", "Mirror", "Slipper", "Spindle", "Lantern"}},
          {"Sword and Sorcery", {"Sword", "Sorcerer", "Blade", "Warlord", "Axe", "Barbarian", "Spell", "Talisman"}}}},
        {"Mystery",
         {"Missing", "Midnight", "Last", "Secret", "Stolen", "Final", "Hollow", "Scarlet", "Quiet", "Deadly",
          "Perfect", "Fatal", "Cold", "Velvet", "Bitter", "Sleeping"},
         {"Clue", "Witness", "Alibi", "Motive", "Verdict", "Puzzle", "Suspect", "Affair"},
         {{"Detective", {"Inspector", "Case", "Evidence", "Detective", "Inquiry", "Manor", "Testament", "Riddle"}},
          {"Heist", {"Vault", "Diamond", "Job", "Getaway", "Safe", "Casino", "Score", "Gambit"}},
          {"Noir", {"Alley", "Dame", "Rain", "Cigarette", "Docks", "Saxophone", "Precinct", "Shadows"}}}},
        {"Romance",
         {"Sweet", "Tender", "Summer", "Lovely", "Charming", "Gentle", "Endless", "Wild", "Little", "Sudden",
          "Spring", "Autumn", "Starlit", "Blushing", "True", "Dearest"},
         {"Heart", "Kiss", "Promise", "Letters", "Wedding", "Romance", "Vow", "Dance"},
         {{"Period Drama", {"Duchess", "Ballroom", "Estate", "Governess", "Carriage", "Countess", "Garden", "Season"}},
          {"Romantic Comedy", {"Date", "Proposal", "Roommate", "Bakery", "Crush", "Mixup", "Wingman", "Bouquet"}},
          {"Second Chances", {"Reunion", "Homecoming", "Return", "Cottage", "Orchard", "Tide", "Postcard", "Lighthouse"}}}},
        {"Horror",
         {"Haunted", "Bloody", "Dark", "Grim", "Wicked", "Rotten", "Pale", "Hungry", "Howling", "Sinister",
          "Restless", "Buried", "Twisted", "Ghastly", "Unholy", "Black"},
         {"Night", "Curse", "Grave", "Ritual", "Cellar", "Scream", "Dread", "Omen"},
         {{"Haunting", {"Ghost", "Spirit", "House", "Asylum", "Seance", "Attic", "Poltergeist", "Chapel"}},
          {"Creature Feature", {"Beast", "Swarm", "Creature", "Spider", "Serpent", "Werewolf", "Leech", "Hive"}},
          {"Slasher", {"Mask", "Knife", "Camp", "Killer", "Cabin", "Hook", "Prom", "Stalker"}}}},
        {"Western",
         {"Dusty", "Lonesome", "Untamed", "Rusty", "Iron", "Red", "Savage", "Desert", "High", "Copper", "Burning",
          "Lone", "Crooked", "Reckless", "Dry", "Rawhide"},
         {"Trail", "Canyon", "Saloon", "Ranch", "Mesa", "Prairie", "Sheriff", "Stagecoach"},
         {{"Frontier", {"Homestead", "Wagon", "Settler", "Territory", "River", "Pass", "Fort", "Valley"}},
          {"Outlaw", {"Gunslinger", "Bandit", "Bounty", "Revolver", "Posse", "Showdown", "Hangman", "Rustler"}},
          {"Gold Rush", {"Nugget", "Claim", "Mine", "Prospector", "Boomtown", "Creek", "Lode", "Strike"}}}},
        {"Comedy",
         {"Crazy", "Silly", "Lucky", "Awkward", "Goofy", "Big", "Happy", "Clumsy", "Super", "Messy", "Jolly",
          "Zany", "Funny", "Wacky", "Cheeky", "Noisy"},
         {"Weekend", "Party", "Vacation", "Neighbors", "Trouble", "Business", "Plan", "Mistake"},
         {{"Family Comedy", {"Kids", "Grandpa", "Puppy", "Holiday", "Babysitter", "Sleepover", "Twins", "Picnic"}},
          {"Satire", {"Office", "Senator", "Campaign", "Committee", "Summit", "Memo", "Election", "Tycoon"}},
          {"Buddy Comedy", {"Partners", "Roadtrip", "Roommates", "Sidekick", "Detour", "Bet", "Pals", "Caper"}}}},
        {"War",
         {"Steel", "Brave", "Fallen", "Grey", "Heroic", "Valiant", "Lost", "Thunder", "Bloodied", "Northern",
          "Burning", "Frozen", "Distant", "Bitter", "Last", "Iron"},
         {"Front", "Battalion", "Line", "Battle", "Siege", "Trench", "Command", "Honor"},
         {{"Naval", {"Destroyer", "Convoy", "Submarine", "Harbor", "Admiral", "Torpedo", "Carrier", "Frigate"}},
          {"Resistance", {"Partisan", "Underground", "Saboteur", "Courier", "Bridge", "Codebreaker", "Village", "Liberation"}},
          {"Aerial Combat", {"Squadron", "Pilot", "Bomber", "Skies", "Ace", "Airfield", "Wings", "Dogfight"}}}},
    };
    return kGenres;
}

const char* const kNumerals[] = {"", "II", "III", "IV"};
constexpr int kMaxFranchise = 4;

struct Gen {
    int genre = 0;
    int sub = -1;
    int second = -1;
    int franchise = -1;  // index of the franchise root item
    int next = -1;       // the next entry of the franchise
    std::string title;
    double weight = 1;
};

void check(bool ok, const char* field, const std::string& expected)
{
    if (!ok)
        throw CoreException(ErrorCode::InvalidConfig, std::string("synthetic.") + field + ": expected " + expected, field);
}

std::string makeTitle(Rng& rng, const Genre& g, int sub, bool allowFour)
{
    const auto& nouns = sub >= 0 ? g.subs[static_cast<size_t>(sub)].nouns : g.nouns;
    const std::string adj = g.adjectives[rng.belowMultiplyShift(g.adjectives.size())];
    const std::string noun = nouns[rng.belowMultiplyShift(nouns.size())];
    const std::string other = g.nouns[rng.belowMultiplyShift(g.nouns.size())];
    switch (rng.belowMultiplyShift(allowFour ? 4 : 3)) {
    case 0:
        return adj + " " + noun;
    case 1:
        return "The " + adj + " " + noun;
    case 2:
        return noun == other ? adj + " " + noun : noun + " of " + other;
    default:
        return noun == other ? "The " + adj + " " + noun : noun + " of the " + other;
    }
}


// Every option in its range (CoreException naming the field otherwise).
void checkOptions(const SyntheticOptions& o)
{
    const auto& table = genres();
    check(o.items >= 2 && o.items <= 1000000, "items", "2..1000000");
    check(o.users >= 1 && o.users <= 10000000, "users", "1..10000000");
    check(o.top_categories >= 1 && o.top_categories <= static_cast<int>(table.size()), "top_categories",
          "1.." + std::to_string(table.size()));
    check(o.subcategories_per_top >= 0 && o.subcategories_per_top <= 3, "subcategories_per_top", "0..3");
    check(o.min_sequence_length >= 1, "min_sequence_length", ">= 1");
    check(o.max_sequence_length >= o.min_sequence_length, "max_sequence_length", ">= min_sequence_length");
    check(o.max_sequence_length <= o.items, "max_sequence_length", "<= items (items never repeat)");
    check(o.preference_concentration >= 0 && o.preference_concentration <= 1, "preference_concentration", "0..1");
    check(o.favourite_categories >= 1, "favourite_categories", ">= 1");
    check(o.sequential_strength >= 0 && o.sequential_strength <= 1, "sequential_strength", "0..1");
    check(o.popularity_skew >= 0 && o.popularity_skew <= 10, "popularity_skew", "0..10");
    check(o.franchise_share >= 0 && o.franchise_share < 1, "franchise_share", "0..1 (exclusive)");
    check(o.subcategory_prob >= 0 && o.subcategory_prob <= 1, "subcategory_prob", "0..1");
    check(o.secondary_category_prob >= 0 && o.secondary_category_prob <= 1, "secondary_category_prob", "0..1");
    check(o.successors >= 1 && o.successors < o.items, "successors", "1..items-1");

}

// 2. Items: franchise entries or new titles with their genre, sub-genre and second genre.
std::vector<Gen> generateItems(Rng& rng, const SyntheticOptions& o)
{
    const auto& table = genres();
    const int nGenres = o.top_categories;
    const int nSubs = o.subcategories_per_top;
    std::vector<Gen> items(static_cast<size_t>(o.items));
    std::unordered_set<std::string> used;
    std::vector<int> franchiseSize(static_cast<size_t>(o.items), 0);
    long fallback = 0;
    for (int j = 0; j < o.items; ++j) {
        Gen& it = items[static_cast<size_t>(j)];
        if (j > 0 && rng.bernoulli(o.franchise_share)) {
            const int root = [&] {
                const Gen& k = items[rng.belowMultiplyShift(static_cast<size_t>(j))];
                return k.franchise;
            }();
            const std::string& rootTitle = items[static_cast<size_t>(root)].title;
            const bool shortRoot = std::count(rootTitle.begin(), rootTitle.end(), ' ') <= 2;  // sequels stay <= 4 words
            if (shortRoot && franchiseSize[static_cast<size_t>(root)] < kMaxFranchise) {
                int last = root;
                while (items[static_cast<size_t>(last)].next >= 0)
                    last = items[static_cast<size_t>(last)].next;
                const Gen& r = items[static_cast<size_t>(root)];
                std::string title = r.title + " " + kNumerals[franchiseSize[static_cast<size_t>(root)]];
                if (used.insert(title).second) {
                    it.genre = r.genre;
                    it.sub = r.sub;
                    it.second = r.second;
                    it.franchise = root;
                    it.title = std::move(title);
                    items[static_cast<size_t>(last)].next = j;
                    ++franchiseSize[static_cast<size_t>(root)];
                    continue;
                }
            }
        }
        it.genre = static_cast<int>(rng.belowMultiplyShift(static_cast<size_t>(nGenres)));
        it.sub = nSubs > 0 && rng.bernoulli(o.subcategory_prob) ? static_cast<int>(rng.belowMultiplyShift(static_cast<size_t>(nSubs))) : -1;
        if (nGenres > 1 && rng.bernoulli(o.secondary_category_prob)) {
            const int s = static_cast<int>(rng.belowMultiplyShift(static_cast<size_t>(nGenres - 1)));
            it.second = s >= it.genre ? s + 1 : s;
        }
        const Genre& g = table[static_cast<size_t>(it.genre)];
        std::string title;
        for (int attempt = 0; attempt < 200 && title.empty(); ++attempt) {
            std::string t = makeTitle(rng, g, it.sub, /*allowFour=*/true);
            if (used.count(t) == 0)
                title = std::move(t);
        }
        if (title.empty()) {  // vocabulary exhausted: number the title
            std::string base = makeTitle(rng, g, it.sub, /*allowFour=*/false);
            do
                title = base + " " + std::to_string(++fallback + 4);
            while (used.count(title));
        }
        used.insert(title);
        it.title = std::move(title);
        it.franchise = j;
        franchiseSize[static_cast<size_t>(j)] = 1;
    }

    return items;
}

// 3. Popularity within genres: a shuffled Zipf rank per genre.
struct Popularity {
    std::vector<std::vector<int>> byGenre;
    std::vector<std::vector<double>> genreWeights;
    std::vector<double> allWeights;
};

Popularity assignPopularity(Rng& rng, std::vector<Gen>& items, const SyntheticOptions& o)
{
    const int nGenres = o.top_categories;
    Popularity p;
    auto& byGenre = p.byGenre;
    byGenre.resize(static_cast<size_t>(nGenres));
    for (int j = 0; j < o.items; ++j)
        byGenre[static_cast<size_t>(items[static_cast<size_t>(j)].genre)].push_back(j);
    for (auto& members : byGenre) {
        std::vector<int> order = members;
        for (size_t i = order.size(); i > 1; --i)
            std::swap(order[i - 1], order[rng.belowMultiplyShift(i)]);
        for (size_t r = 0; r < order.size(); ++r)
            items[static_cast<size_t>(order[r])].weight = 1.0 / std::pow(static_cast<double>(r + 1), o.popularity_skew);
    }
    auto& genreWeights = p.genreWeights;
    genreWeights.resize(static_cast<size_t>(nGenres));
    for (int g = 0; g < nGenres; ++g)
        for (int j : byGenre[static_cast<size_t>(g)])
            genreWeights[static_cast<size_t>(g)].push_back(items[static_cast<size_t>(j)].weight);
    auto& allWeights = p.allWeights;
    for (const auto& it : items)
        allWeights.push_back(it.weight);

    return p;
}

// 4. Successors: the franchise's next entry, then weighted draws mostly from the same genre.
std::vector<std::vector<int>> drawSuccessors(Rng& rng, const std::vector<Gen>& items, const Popularity& p,
                                             const SyntheticOptions& o)
{
    const auto& byGenre = p.byGenre;
    const auto& genreWeights = p.genreWeights;
    const auto& allWeights = p.allWeights;
    std::vector<std::vector<int>> successors(static_cast<size_t>(o.items));
    for (int j = 0; j < o.items; ++j) {
        auto& s = successors[static_cast<size_t>(j)];
        const Gen& it = items[static_cast<size_t>(j)];
        if (it.next >= 0)
            s.push_back(it.next);
        for (int attempt = 0; static_cast<int>(s.size()) < o.successors && attempt < 50 * o.successors; ++attempt) {
            int cand;
            const auto& pool = byGenre[static_cast<size_t>(it.genre)];
            if (pool.size() > 1 && rng.bernoulli(0.8))
                cand = pool[rng.weightedIndex(genreWeights[static_cast<size_t>(it.genre)])];
            else
                cand = static_cast<int>(rng.weightedIndex(allWeights));
            if (cand != j && std::find(s.begin(), s.end(), cand) == s.end())
                s.push_back(cand);
        }
    }
    return successors;
}

// 5. The catalogue as raw items (genre, "genre, sub-genre", second genre; franchise root).
RawData catalogueRaw(const std::vector<Gen>& items, const SyntheticOptions& o)
{
    const auto& table = genres();
    const int nGenres = o.top_categories;
    const int nSubs = o.subcategories_per_top;
    RawData raw;
    raw.name = "synthetic(seed=" + std::to_string(o.seed) + ")";
    raw.source = "synthetic";
    for (int j = 0; j < o.items; ++j) {
        const Gen& it = items[static_cast<size_t>(j)];
        const Genre& g = table[static_cast<size_t>(it.genre)];
        RawItem ri;
        char id[32];
        std::snprintf(id, sizeof(id), "syn%05d", j + 1);
        ri.raw_id = id;
        ri.title = it.title;
        ri.categories.push_back(g.name);
        if (it.sub >= 0)
            ri.categories.push_back(std::string(g.name) + ", " + g.subs[static_cast<size_t>(it.sub)].name);
        if (it.second >= 0)
            ri.categories.push_back(table[static_cast<size_t>(it.second)].name);
        if (it.franchise != j)
            ri.extra["franchise"] = items[static_cast<size_t>(it.franchise)].title;
        raw.addItem(std::move(ri));
    }
    raw.raw_category_labels = nGenres * (1 + nSubs);
    return raw;
}

// 6. Users: preferences, then sequences that follow successors or the preferences.
void addUsers(RawData& raw, Rng& rng, const Popularity& p, const std::vector<std::vector<int>>& successors,
              const SyntheticOptions& o)
{
    const int nGenres = o.top_categories;
    const auto& byGenre = p.byGenre;
    const auto& genreWeights = p.genreWeights;
    std::vector<double> followWeights;
    for (int k = 0; k < o.successors + 1; ++k)
        followWeights.push_back(1.0 / (k + 1));
    const int64_t kStart = 1577836800;  // 2020-01-01
    std::vector<char> seen(static_cast<size_t>(o.items), 0);
    for (int u = 0; u < o.users; ++u) {
        char uid[32];
        std::snprintf(uid, sizeof(uid), "user%05d", u + 1);
        // Preferences.
        const int nFav = 1 + static_cast<int>(rng.belowMultiplyShift(static_cast<size_t>(std::min(o.favourite_categories, nGenres))));
        std::vector<int> genresLeft(static_cast<size_t>(nGenres));
        for (int g = 0; g < nGenres; ++g)
            genresLeft[static_cast<size_t>(g)] = g;
        std::vector<double> pref(static_cast<size_t>(nGenres), (1.0 - o.preference_concentration) / nGenres);
        const double favUnits = nFav + 1.0;  // the first favourite counts double
        for (int f = 0; f < nFav; ++f) {
            const size_t k = rng.belowMultiplyShift(genresLeft.size());
            const int g = genresLeft[k];
            genresLeft.erase(genresLeft.begin() + static_cast<std::ptrdiff_t>(k));
            pref[static_cast<size_t>(g)] += o.preference_concentration * (f == 0 ? 2.0 : 1.0) / favUnits;
        }
        const int len = o.min_sequence_length +
                        static_cast<int>(rng.belowMultiplyShift(static_cast<size_t>(o.max_sequence_length - o.min_sequence_length + 1)));
        std::vector<int> seq;
        auto preferenceDraw = [&]() {
            for (int attempt = 0; attempt < 30; ++attempt) {
                const size_t g = rng.weightedIndex(pref);
                if (byGenre[g].empty())
                    continue;
                const int cand = byGenre[g][rng.weightedIndex(genreWeights[g])];
                if (!seen[static_cast<size_t>(cand)])
                    return cand;
            }
            const size_t start = rng.belowMultiplyShift(static_cast<size_t>(o.items));  // any unseen item
            for (size_t k = 0; k < static_cast<size_t>(o.items); ++k) {
                const size_t cand = (start + k) % static_cast<size_t>(o.items);
                if (!seen[cand])
                    return static_cast<int>(cand);
            }
            return -1;
        };
        int64_t t = kStart + static_cast<int64_t>(rng.belowMultiplyShift(365)) * 86400 + static_cast<int64_t>(rng.belowMultiplyShift(86400));
        for (int step = 0; step < len; ++step) {
            int next = -1;
            if (!seq.empty() && rng.bernoulli(o.sequential_strength)) {
                const auto& s = successors[static_cast<size_t>(seq.back())];
                std::vector<double> w;
                for (size_t k = 0; k < s.size(); ++k)
                    w.push_back(seen[static_cast<size_t>(s[k])] ? 0.0 : followWeights[k]);
                bool any = false;
                for (double x : w)
                    any = any || x > 0;
                if (any)
                    next = s[rng.weightedIndex(w)];
            }
            if (next < 0)
                next = preferenceDraw();
            if (next < 0)
                break;
            seen[static_cast<size_t>(next)] = 1;
            seq.push_back(next);
            t += 86400 * static_cast<int64_t>(1 + rng.belowMultiplyShift(3)) + static_cast<int64_t>(rng.belowMultiplyShift(3600));
            raw.addInteraction(uid, raw.items[static_cast<size_t>(next)].raw_id, 5.0, t);
        }
        for (int j : seq)
            seen[static_cast<size_t>(j)] = 0;
    }

}

}  // namespace synthetic_detail

Dataset generateSynthetic(const SyntheticOptions& o) { return generateSynthetic(o, PipelineOptions{}); }

Dataset generateSynthetic(const SyntheticOptions& o, const PipelineOptions& pipeline)
{
    using namespace synthetic_detail;
    checkOptions(o);
    Rng rng(o.seed);
    std::vector<Gen> items = generateItems(rng, o);
    const Popularity popularity = assignPopularity(rng, items, o);
    const auto successors = drawSuccessors(rng, items, popularity, o);
    RawData raw = catalogueRaw(items, o);
    addUsers(raw, rng, popularity, successors, o);
    return buildDataset(std::move(raw), pipeline);
}

SyntheticOptions::SyntheticOptions() : SyntheticDataConfig(defaultExperiment().dataset.synthetic) {}

}  // namespace recalign::core
