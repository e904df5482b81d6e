// The experiment schema: THE place where every experiment field's default, range, choices and
// meaning are written down. "[released]" marks the authors' released code (RECLM-GEN.md),
// "[paper]" the seed's method (PAPER.md); where they differ the paper is the default.
#include "core/pipeline/experiment_config.h"

#include "core/api/tables.h"
#include "core/util/strings.h"

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <climits>
#include <cmath>
#include <cstdlib>
#include <map>
#include <set>
#include <type_traits>

namespace recalign::core {

// ---- Names -----------------------------------------------------------------------------------

const char* variantName(Variant v)
{
    switch (v) {
    case Variant::SasRec: return variant_name::kSasRec;
    case Variant::MostPop: return variant_name::kMostPop;
    case Variant::ZeroShot: return variant_name::kZeroShot;
    case Variant::Palr: return variant_name::kPalr;
    case Variant::V1: return variant_name::kV1;
    case Variant::V2: return variant_name::kV2;
    case Variant::V3: return variant_name::kV3;
    case Variant::Full: return variant_name::kFull;
    }
    return "";
}

std::string VariantRecipe::trainedName() const
{
    return constrained ? name.substr(0, name.size() - 3) : name;
}

bool parseVariantRecipe(const std::string& name, VariantRecipe* out, std::string* error)
{
    auto fail = [&](const std::string& why) {
        if (error)
            *error = "'" + name + "': " + why;
        return false;
    };
    VariantRecipe r;
    r.name = name;
    std::string rest = name;
    const std::string cd = "+cd";
    if (rest.size() > cd.size() && rest.compare(rest.size() - cd.size(), cd.size(), cd) == 0) {
        r.constrained = true;
        rest.resize(rest.size() - cd.size());
    }
    std::string base = rest, alg;
    if (const auto us = rest.find('_'); us != std::string::npos) {
        base = rest.substr(0, us);
        alg = rest.substr(us + 1);
    }
    static const char* kBases = "sasrec, mostpop, zeroshot, palr, v1, v2, v3, full, dpo, sdpo";
    if (base == variant_name::kSasRec || base == variant_name::kMostPop) {
        r.kind = VariantRecipe::Kind::Recommender;
    } else if (base == variant_name::kZeroShot) {
        r.kind = VariantRecipe::Kind::ZeroShot;
    } else if (base == variant_name::kPalr || base == variant_name::kV1 || base == variant_name::kV2) {
        r.sft = base;
    } else if (base == variant_name::kV3 || base == variant_name::kFull) {
        r.sft = variant_name::kV2;
        r.align = VariantRecipe::Align::Rl;
        r.item_reward = base == variant_name::kFull;
    } else if (base == "dpo" || base == "sdpo") {
        r.sft = variant_name::kV2;
        r.align = base == "dpo" ? VariantRecipe::Align::Dpo : VariantRecipe::Align::Sdpo;
    } else {
        return fail("unknown row '" + base + "': expected one of " + kBases
                    + ", optionally _ALG (v3, full: ppo, grpo, drgrpo, rloo, rpp) and +cd");
    }
    if (!alg.empty()) {
        if (r.align != VariantRecipe::Align::Rl)
            return fail("'_" + alg + "' names an RL algorithm, which only v3 and full take");
        static const std::vector<std::pair<std::string, RlAlgorithm>> algs = {
            {"ppo", RlAlgorithm::Ppo}, {"grpo", RlAlgorithm::Grpo}, {"drgrpo", RlAlgorithm::Grpo},
            {"rloo", RlAlgorithm::Rloo}, {"rpp", RlAlgorithm::ReinforcePp}};
        auto it = std::find_if(algs.begin(), algs.end(), [&](const auto& a) { return a.first == alg; });
        if (it == algs.end())
            return fail("unknown RL algorithm '" + alg + "': expected one of ppo, grpo, drgrpo, rloo, rpp");
        r.algorithm_set = true;
        r.algorithm = it->second;
        r.dr_grpo = alg == "drgrpo";
    }
    if (r.constrained && r.kind == VariantRecipe::Kind::Recommender)
        return fail("+cd applies to the LLM rows (a recommender ranks the catalogue: its lists are legal already)");
    if (out)
        *out = r;
    return true;
}

const char* rlAlgorithmName(RlAlgorithm a)
{
    switch (a) {
    case RlAlgorithm::Ppo: return "ppo";
    case RlAlgorithm::Grpo: return "grpo";
    case RlAlgorithm::Rloo: return "rloo";
    case RlAlgorithm::ReinforcePp: return "reinforce_pp";
    }
    return "ppo";
}

const char* testTaskName(TestTask t)
{
    switch (t) {
    case TestTask::I0: return task_name::kI0;
    case TestTask::I1Plus: return task_name::kI1Plus;
    case TestTask::I1Minus: return task_name::kI1Minus;
    case TestTask::I2Le20: return task_name::kI2Le20;
    case TestTask::I2Ge30: return task_name::kI2Ge30;
    case TestTask::I2Approx30: return task_name::kI2Approx30;
    case TestTask::ItemCount: return task_name::kItemCount;
    }
    return "";
}

std::vector<Variant> allVariants()
{
    return {Variant::SasRec, Variant::MostPop, Variant::ZeroShot, Variant::Palr,
            Variant::V1,     Variant::V2,      Variant::V3,       Variant::Full};
}

std::vector<TestTask> allTestTasks()
{
    return {TestTask::I0,     TestTask::I1Plus,     TestTask::I1Minus,  TestTask::I2Le20,
            TestTask::I2Ge30, TestTask::I2Approx30, TestTask::ItemCount};
}

bool parseVariant(const std::string& text, Variant* out)
{
    for (Variant v : allVariants())
        if (text == variantName(v)) {
            *out = v;
            return true;
        }
    return false;
}

bool parseTestTask(const std::string& text, TestTask* out)
{
    for (TestTask t : allTestTasks())
        if (text == testTaskName(t)) {
            *out = t;
            return true;
        }
    return false;
}

// ---- Scalar text -----------------------------------------------------------------------------

std::string yamlFormatNumber(double value)
{
    char buf[64];
    auto [ptr, ec] = std::to_chars(buf, buf + sizeof(buf), value);
    if (ec != std::errc())
        return str::fixed(value, 17);
    return std::string(buf, ptr);
}

bool yamlParseBool(const std::string& text, bool* value)
{
    const std::string t = yamlUnquote(text);
    if (!experiment_detail::isBoolText(t))
        return false;
    *value = experiment_detail::parseBoolText(t);
    return true;
}

namespace experiment_detail {


bool parseBoolText(const std::string& text)
{
    const std::string t = str::toLower(text);
    return t == "true" || t == "yes" || t == "on";
}

bool isBoolText(const std::string& text)
{
    const std::string t = str::toLower(text);
    return t == "true" || t == "false" || t == "yes" || t == "no" || t == "on" || t == "off";
}

static bool isIntText(const std::string& text, long long* out)
{
    if (text.empty())
        return false;
    const char* b = text.data();
    const char* e = b + text.size();
    if (*b == '+')
        ++b;
    long long v = 0;
    auto [ptr, ec] = std::from_chars(b, e, v);
    if (ec != std::errc() || ptr != e)
        return false;
    if (out)
        *out = v;
    return true;
}

static bool isDoubleText(const std::string& text, double* out)
{
    if (text.empty() || std::isspace(static_cast<unsigned char>(text[0])))
        return false;
    errno = 0;
    char* end = nullptr;
    const double v = std::strtod(text.c_str(), &end);
    if (end != text.c_str() + text.size() || errno == ERANGE || !std::isfinite(v))
        return false;
    // strtod also accepts hex floats, "inf" and "nan"; YAML users mean none of them.
    for (char c : text)
        if (!(std::isdigit(static_cast<unsigned char>(c)) || c == '.' || c == 'e' || c == 'E' || c == '+' || c == '-'))
            return false;
    if (out)
        *out = v;
    return true;
}

long long parseIntText(const std::string& text)
{
    long long v = 0;
    isIntText(text, &v);
    return v;
}

double parseDoubleText(const std::string& text)
{
    double v = 0;
    isDoubleText(text, &v);
    return v;
}

static ConfigField::Type elementType(ConfigField::Type t)
{
    switch (t) {
    case ConfigField::Type::IntList: return ConfigField::Type::Int;
    case ConfigField::Type::DoubleList: return ConfigField::Type::Double;
    case ConfigField::Type::StringList: return ConfigField::Type::String;
    default: return t;
    }
}

static std::string quoted(const std::vector<std::string>& v)
{
    std::vector<std::string> q;
    for (const auto& s : v)
        q.push_back("'" + s + "'");
    return str::join(q, ", ");
}

std::string checkElement(const FieldDef& def, const std::string& text)
{
    const ConfigField& f = def.field;
    switch (elementType(f.type)) {
    case ConfigField::Type::Bool:
        return isBoolText(text) ? "" : "expected true or false, got '" + text + "'";
    case ConfigField::Type::Int: {
        long long v = 0;
        if (!isIntText(text, &v))
            return "expected an integer, got '" + text + "'";
        if (v < INT_MIN || v > INT_MAX)
            return "integer '" + text + "' does not fit in 32 bits";
        return "";
    }
    case ConfigField::Type::Double:
        return isDoubleText(text, nullptr) ? "" : "expected a number, got '" + text + "'";
    case ConfigField::Type::Enum:
    case ConfigField::Type::String:
    case ConfigField::Type::Path:
        if (f.key == "device") {
            auto d = parseDevice(text);
            return d ? "" : "expected cpu, cuda, cuda:N or auto, got '" + text + "'";
        }
        if (!f.choices.empty()) {
            for (const auto& c : f.choices)
                if (c == text)
                    return "";
            std::string best;
            int bestD = INT_MAX;
            for (const auto& c : f.choices) {
                const int d = str::levenshtein(text, c);
                if (d < bestD)
                    bestD = d, best = c;
            }
            std::string msg = "'" + text + "' is not one of " + quoted(f.choices);
            if (bestD <= 2)
                msg += " (did you mean '" + best + "'?)";
            return msg;
        }
        return "";
    default: return "";
    }
}

// ---- Bindings between text and members -------------------------------------------------------

template <typename T>
struct IsVector : std::false_type {};
template <typename T>
struct IsVector<std::vector<T>> : std::true_type {
    using Element = T;
};

template <typename T>
static T elementFromText(const std::string& text, const std::vector<std::string>& choices)
{
    if constexpr (std::is_same_v<T, bool>) {
        return parseBoolText(text);
    } else if constexpr (std::is_same_v<T, int>) {
        return static_cast<int>(parseIntText(text));
    } else if constexpr (std::is_same_v<T, double>) {
        return parseDoubleText(text);
    } else if constexpr (std::is_same_v<T, std::string>) {
        return text;
    } else if constexpr (std::is_same_v<T, DeviceSpec>) {
        auto d = parseDevice(text);
        return d ? d.value() : DeviceSpec{};
    } else {
        static_assert(std::is_enum_v<T>, "unsupported field type");
        for (size_t i = 0; i < choices.size(); ++i)
            if (choices[i] == text)
                return static_cast<T>(i);
        return static_cast<T>(0);
    }
}

template <typename T>
static std::string elementToText(const T& v, const std::vector<std::string>& choices)
{
    if constexpr (std::is_same_v<T, bool>) {
        return v ? "true" : "false";
    } else if constexpr (std::is_same_v<T, int>) {
        return std::to_string(v);
    } else if constexpr (std::is_same_v<T, double>) {
        return yamlFormatNumber(v);
    } else if constexpr (std::is_same_v<T, std::string>) {
        return v;
    } else if constexpr (std::is_same_v<T, DeviceSpec>) {
        return v.toString();
    } else {
        const size_t i = static_cast<size_t>(v);
        return i < choices.size() ? choices[i] : std::string();
    }
}

template <typename T>
static constexpr ConfigField::Type deducedType()
{
    if constexpr (std::is_same_v<T, bool>)
        return ConfigField::Type::Bool;
    else if constexpr (std::is_same_v<T, int>)
        return ConfigField::Type::Int;
    else if constexpr (std::is_same_v<T, double>)
        return ConfigField::Type::Double;
    else if constexpr (std::is_enum_v<T>)
        return ConfigField::Type::Enum;
    else if constexpr (std::is_same_v<T, std::vector<int>>)
        return ConfigField::Type::IntList;
    else if constexpr (std::is_same_v<T, std::vector<double>>)
        return ConfigField::Type::DoubleList;
    else if constexpr (IsVector<T>::value)
        return ConfigField::Type::StringList;
    else
        return ConfigField::Type::String;
}

FieldDef& FieldDef::range(double lo, double hi, bool exclusiveLow)
{
    field.min = lo;
    field.max = hi;
    field.has_range = true;
    min_exclusive = exclusiveLow;
    return *this;
}

FieldDef& FieldDef::choices(std::vector<std::string> values)
{
    field.choices = std::move(values);
    return *this;
}

FieldDef& FieldDef::path(PathKind kind)
{
    field.type = ConfigField::Type::Path;
    path_kind = kind;
    return *this;
}

// Adds a field bound to the member that `access` returns. The binding reads field.choices at
// call time, so .choices() may follow.
template <typename Access>
static FieldDef& add(std::vector<FieldDef>& table, const char* key, const char* def, Access access,
                     const char* doc)
{
    using T = std::decay_t<decltype(access(std::declval<ExperimentConfig&>()))>;
    FieldDef d;
    d.field.key = key;
    d.field.type = deducedType<T>();
    d.field.default_value = def;
    d.field.doc = doc;
    const std::string k = key;
    const auto dot = k.find('.');
    d.field.group = dot == std::string::npos ? "experiment" : k.substr(0, dot);
    const size_t index = table.size();
    d.set = [access, index](ExperimentConfig& c, const FieldValue& v) {
        const auto& choices = fieldTable()[index].field.choices;
        T& dst = access(c);
        if constexpr (IsVector<T>::value) {
            using E = typename IsVector<T>::Element;
            dst.clear();
            for (const auto& item : v.items)
                dst.push_back(elementFromText<E>(item, choices));
        } else {
            dst = elementFromText<T>(v.items.empty() ? std::string() : v.items[0], choices);
        }
    };
    d.get = [access, index](const ExperimentConfig& c) {
        const auto& choices = fieldTable()[index].field.choices;
        const T& src = access(const_cast<ExperimentConfig&>(c));
        FieldValue v;
        if constexpr (IsVector<T>::value) {
            v.list = true;
            for (const auto& e : src)
                v.items.push_back(elementToText(e, choices));
        } else {
            v.items.push_back(elementToText(src, choices));
        }
        return v;
    };
    table.push_back(std::move(d));
    return table.back();
}

#define RECALIGN_MEMBER(m) [](ExperimentConfig& c) -> auto& { return c.m; }

static const std::vector<std::string> kLoraTargets = {"q", "k", "v", "o", "gate", "up", "down", "lm_head"};

static void addLora(std::vector<FieldDef>& t, const std::string& prefix, bool actor)
{
    // Keys must outlive the table: ConfigField copies them, add() takes const char*.
    auto key = [&](const char* leaf) { return prefix + "." + leaf; };
    if (actor) {
        add(t, key("r").c_str(), "4", RECALIGN_MEMBER(ppo.actor_lora.r), "actor LoRA rank [released 4; paper 4]").range(1, 4096);
        add(t, key("alpha").c_str(), "2", RECALIGN_MEMBER(ppo.actor_lora.alpha), "actor LoRA alpha; scaling alpha/r [released 2]").range(0, 1e6, true);
        add(t, key("dropout").c_str(), "0", RECALIGN_MEMBER(ppo.actor_lora.dropout), "actor LoRA dropout [released 0.0]").range(0, 0.95);
        add(t, key("targets").c_str(), "[q, k, v, o, gate, up, down]", RECALIGN_MEMBER(ppo.actor_lora.targets),
            "linear layers that get the actor adapter [released: every linear except lm_head]").choices(kLoraTargets);
        add(t, key("init").c_str(), "orthogonal", RECALIGN_MEMBER(ppo.actor_lora.init),
            "LoRA A init: orthogonal (gain sqrt 2) [released] | kaiming (PEFT default); B starts at 0").choices({"orthogonal", "kaiming"});
    } else {
        add(t, key("r").c_str(), "4", RECALIGN_MEMBER(ppo.critic_lora.r), "critic LoRA rank [released 4]").range(1, 4096);
        add(t, key("alpha").c_str(), "2", RECALIGN_MEMBER(ppo.critic_lora.alpha), "critic LoRA alpha [released 2]").range(0, 1e6, true);
        add(t, key("dropout").c_str(), "0", RECALIGN_MEMBER(ppo.critic_lora.dropout), "critic LoRA dropout [released 0.0]").range(0, 0.95);
        add(t, key("targets").c_str(), "[q, k, v, o, gate, up, down]", RECALIGN_MEMBER(ppo.critic_lora.targets),
            "linear layers that get the critic adapter [released: every linear except lm_head]").choices(kLoraTargets);
        add(t, key("init").c_str(), "orthogonal", RECALIGN_MEMBER(ppo.critic_lora.init),
            "LoRA A init: orthogonal [released] | kaiming").choices({"orthogonal", "kaiming"});
    }
}

// experiment keys
static void addExperimentKeys(std::vector<FieldDef>& t)
{
    add(t, "version", "1", RECALIGN_MEMBER(version), "schema version of this file (this build reads 1)").range(1, kExperimentVersion);
    add(t, "name", "experiment", RECALIGN_MEMBER(name), "experiment name shown in the run list");
    add(t, "description", "", RECALIGN_MEMBER(description), "free text");
    add(t, "workspace", "", RECALIGN_MEMBER(workspace),
        "folder holding runs.sqlite and stage outputs; \"\" = the CLI's --workspace (default ./workspace)").path(PathKind::Dir);
    add(t, "seeds", "[0]", RECALIGN_MEMBER(seeds), "one run per seed, together a seed group (tables and curves aggregate over it); a seed drives SFT, RL, sampling and evaluation prompts (teacher.seed and model.pretrain.seed say whether those stages vary too) [released SFT seed 0]").range(0, INT_MAX);
    add(t, "device", "auto", RECALIGN_MEMBER(device), "cpu | cuda | cuda:N | auto (cuda when available)");
    add(t, "threads", "0", RECALIGN_MEMBER(threads), "threads this run computes with (0 = the machine's cores, divided among local processes); split between torch and OpenBLAS by the model's width and compute dtype").range(0, 1024);
    add(t, "variants", "[sasrec, mostpop, zeroshot, palr, v1, v2, v3, full]", RECALIGN_MEMBER(variants),
        "rows to produce, each a recipe named BASE[_ALG][+cd]: BASE = sasrec | mostpop | zeroshot | palr | v1 (SFT "
        "on I0) | v2 (I0-I4) | v3 (v2 + RL, list reward) | full (v2 + RL, item + list rewards) | dpo | sdpo (v2 + "
        "preference optimisation); _ALG (v3, full) = ppo | grpo | drgrpo | rloo | rpp, else ppo.algorithm; +cd = "
        "per-row constrained decoding at evaluation; e.g. full_grpo, v2+cd");
}

// dataset keys
static void addDatasetKeys(std::vector<FieldDef>& t)
{
    add(t, "dataset.source", "synthetic", RECALIGN_MEMBER(dataset.source),
        "movielens (ratings.csv + movies.csv) | amazon (reviews + meta JSON lines) | steam (reviews + games) | "
        "native (items.jsonl + interactions.csv) | synthetic (generated, no files) | recbole (RecBole's atomic "
        "files NAME.inter + NAME.item)")
        .choices({"movielens", "amazon", "steam", "native", "synthetic", "recbole"});
    add(t, "dataset.path", "", RECALIGN_MEMBER(dataset.path), "folder with the source files; required unless source is synthetic").path(PathKind::Any);
    add(t, "dataset.min_rating", "0", RECALIGN_MEMBER(dataset.min_rating), "drop ratings below this; 0 keeps every rating [released: no rating filter]").range(0, 100);
    add(t, "dataset.user_core", "-1", RECALIGN_MEMBER(dataset.user_core),
        "iterative k-core: users need this many interactions; -1 = source default (amazon, steam 25 [released]; movielens 5; native, recbole, synthetic 1); 0 = no filter").range(-1, 1000000);
    add(t, "dataset.item_core", "-1", RECALIGN_MEMBER(dataset.item_core),
        "iterative k-core: items need this many interactions; -1 = source default (amazon, steam 10 [released]; movielens 5; native, synthetic 1); 0 = no filter").range(-1, 1000000);
    add(t, "dataset.lenient", "false", RECALIGN_MEMBER(dataset.lenient), "skip malformed lines (counted and reported) instead of failing");
    add(t, "dataset.steam_tags_as_categories", "false", RECALIGN_MEMBER(dataset.steam_tags_as_categories), "steam: use user tags instead of genres as categories");
    add(t, "dataset.interactions_file", "", RECALIGN_MEMBER(dataset.interactions_file), "ratings / reviews / interactions file inside path; \"\" = detected");
    add(t, "dataset.items_file", "", RECALIGN_MEMBER(dataset.items_file), "movies / meta / games / items file inside path; \"\" = detected");
    add(t, "dataset.uncategorized", "drop", RECALIGN_MEMBER(dataset.uncategorized),
        "items without a category: drop (with their interactions) | other (join a category named Other)").choices({"drop", "other"});
    add(t, "dataset.max_users", "0", RECALIGN_MEMBER(dataset.max_users), "keep the first N users in dataset order (after filtering); 0 = all").range(0, 100000000);
    add(t, "dataset.max_history", "10", RECALIGN_MEMBER(dataset.max_history), "history items shown in prompts [released --max_item_length 10]").range(1, 512);
    add(t, "dataset.recbole.title_field", "", RECALIGN_MEMBER(dataset.recbole.title_field),
        "recbole: the .item field holding the title; \"\" = the first of movie_title, title, name, app_name, item_name");
    add(t, "dataset.recbole.year_field", "", RECALIGN_MEMBER(dataset.recbole.year_field),
        "recbole: a .item field appended to the title as \" (YEAR)\", as MovieLens writes titles; \"\" = release_year or "
        "year when present, \"none\" = no year");
    add(t, "dataset.recbole.category_field", "", RECALIGN_MEMBER(dataset.recbole.category_field),
        "recbole: the .item field holding the categories (a token_seq: one category per token); \"\" = the first of "
        "class, genre, genres, categories, category, tags");
    add(t, "dataset.recbole.seq_separator", "", RECALIGN_MEMBER(dataset.recbole.seq_separator),
        "recbole: the separator between a token_seq field's tokens; \"\" = white space [RecBole's seq_separator, a space]");
    add(t, "dataset.synthetic.seed", "1", RECALIGN_MEMBER(dataset.synthetic.seed), "synthetic: generator seed (independent of the run seed)").range(0, INT_MAX);
    add(t, "dataset.synthetic.items", "500", RECALIGN_MEMBER(dataset.synthetic.items), "synthetic: catalogue size").range(2, 1000000);
    add(t, "dataset.synthetic.users", "500", RECALIGN_MEMBER(dataset.synthetic.users), "synthetic: number of users").range(1, 10000000);
    add(t, "dataset.synthetic.top_categories", "6", RECALIGN_MEMBER(dataset.synthetic.top_categories), "synthetic: genres (from a built-in table of 8)").range(1, 8);
    add(t, "dataset.synthetic.subcategories_per_top", "2", RECALIGN_MEMBER(dataset.synthetic.subcategories_per_top), "synthetic: sub-genres per genre (\"Fantasy, Fairy Tale\")").range(0, 3);
    add(t, "dataset.synthetic.min_sequence_length", "8", RECALIGN_MEMBER(dataset.synthetic.min_sequence_length), "synthetic: fewest interactions per user (>= 3 to be evaluated)").range(1, 1000000);
    add(t, "dataset.synthetic.max_sequence_length", "24", RECALIGN_MEMBER(dataset.synthetic.max_sequence_length), "synthetic: most interactions per user (<= items)").range(1, 1000000);
    add(t, "dataset.synthetic.preference_concentration", "0.85", RECALIGN_MEMBER(dataset.synthetic.preference_concentration), "synthetic: share of a user's preference on their favourite genres").range(0, 1);
    add(t, "dataset.synthetic.favourite_categories", "2", RECALIGN_MEMBER(dataset.synthetic.favourite_categories), "synthetic: at most this many favourite genres per user").range(1, 8);
    add(t, "dataset.synthetic.sequential_strength", "0.6", RECALIGN_MEMBER(dataset.synthetic.sequential_strength), "synthetic: probability that the next item follows a successor of the current one").range(0, 1);
    add(t, "dataset.synthetic.popularity_skew", "1", RECALIGN_MEMBER(dataset.synthetic.popularity_skew), "synthetic: Zipf exponent of popularity within a genre; 0 = flat").range(0, 10);
    add(t, "dataset.synthetic.franchise_share", "0.2", RECALIGN_MEMBER(dataset.synthetic.franchise_share), "synthetic: share of items that continue an earlier franchise (\"... II\")").range(0, 0.99);
    add(t, "dataset.synthetic.subcategory_prob", "0.8", RECALIGN_MEMBER(dataset.synthetic.subcategory_prob), "synthetic: probability that an item has a sub-genre").range(0, 1);
    add(t, "dataset.synthetic.secondary_category_prob", "0.3", RECALIGN_MEMBER(dataset.synthetic.secondary_category_prob), "synthetic: probability that an item also has a second genre").range(0, 1);
    add(t, "dataset.synthetic.successors", "3", RECALIGN_MEMBER(dataset.synthetic.successors), "synthetic: follow-up items per item (< items)").range(1, 1000000);
}

// teacher (SASRec) keys
static void addTeacherKeys(std::vector<FieldDef>& t)
{
    add(t, "teacher.hidden", "128", RECALIGN_MEMBER(teacher.hidden), "SASRec width [released 128: the script's 256 is unused]").range(4, 8192);
    add(t, "teacher.blocks", "2", RECALIGN_MEMBER(teacher.blocks), "Transformer blocks [released 2]").range(1, 64);
    add(t, "teacher.heads", "2", RECALIGN_MEMBER(teacher.heads), "attention heads; must divide hidden [released 2]").range(1, 64);
    add(t, "teacher.maxlen", "10", RECALIGN_MEMBER(teacher.maxlen), "history window, left-padded [released 10]").range(1, 1024);
    add(t, "teacher.dropout", "0.5", RECALIGN_MEMBER(teacher.dropout), "dropout in every layer [released UniRec 0.5; paper-time RecBole 0.3]").range(0, 0.95);
    add(t, "teacher.layer_norm", "post", RECALIGN_MEMBER(teacher.layer_norm),
        "post (RecBole/UniRec post-LN) [released] | pre (pre-LN) | qonly (original SASRec: LN on the query)").choices({"post", "pre", "qonly"});
    add(t, "teacher.loss", "ce", RECALIGN_MEMBER(teacher.loss), "ce: softmax over the catalogue [released] | bce: one sampled negative per positive").choices({"ce", "bce"});
    add(t, "teacher.lr", "0.001", RECALIGN_MEMBER(teacher.lr), "Adam learning rate [released 1e-3]").range(0, 1, true);
    add(t, "teacher.batch", "1024", RECALIGN_MEMBER(teacher.batch), "sequences per step [released 1024]").range(1, 1000000);
    add(t, "teacher.epochs", "100", RECALIGN_MEMBER(teacher.epochs), "maximum epochs [released 100]").range(1, 100000);
    add(t, "teacher.patience", "10", RECALIGN_MEMBER(teacher.patience), "early stop after N epochs without better valid NDCG@10; 0 = never [released 10]").range(0, 100000);
    add(t, "teacher.plateau", "0.5", RECALIGN_MEMBER(teacher.plateau), "ReduceLROnPlateau factor; 0 = constant lr [released 0.5]").range(0, 0.99);
    add(t, "teacher.seed", "2022", RECALIGN_MEMBER(teacher.seed), "the teacher's own seed, so one teacher serves every run of a seed group; -1 = each run's seed (one teacher per seed) [released 2022, fixed]").range(-1, INT_MAX);
}

// model keys
static void addModelKeys(std::vector<FieldDef>& t)
{
    add(t, "model.source", "from_scratch", RECALIGN_MEMBER(model.source),
        "from_scratch (architecture below, pre-trained here) | llama2c (.bin file) | hf (Hugging Face folder: config.json + safetensors)")
        .choices({"from_scratch", "llama2c", "hf"});
    add(t, "model.path", "", RECALIGN_MEMBER(model.path), "llama2c: the .bin file; hf: the model folder; unused for from_scratch").path(PathKind::Any);
    add(t, "model.chat_template", "llama2", RECALIGN_MEMBER(model.chat_template),
        "llama2: the released llama-2 chat rendering [released] | compact: short role tags for tiny models").choices({"llama2", "compact"});
    add(t, "model.dtype", "float32", RECALIGN_MEMBER(model.dtype), "storage of the frozen base weights: float32 | bfloat16 (CPU with AVX-512 BF16 or GPU) | float16 (GPU only); "
        "adapters, their gradients and optimizer moments stay float32, and full fine-tuning keeps float32 master weights with products in this dtype; "
        "norm statistics, softmax, logits, log-probs and losses are float32 [released bf16 on GPU]").choices({"float32", "bfloat16", "float16"});
    add(t, "model.compute_dtype", "float32", RECALIGN_MEMBER(model.compute_dtype),
        "matrix products: float32 | bfloat16 (float32 weights, norms, softmax, log-probs, losses and KL; "
        "bfloat16 products with float32 accumulation) | auto (bfloat16 on a GPU and on a CPU with AVX-512 BF16 or AMX, "
        "float32 otherwise; the run records what it resolved to)").choices({"float32", "bfloat16", "auto"});
    add(t, "model.dim", "64", RECALIGN_MEMBER(model.dim), "from_scratch: model width (Llama-2-7b: 4096)").range(8, 65536);
    add(t, "model.n_layers", "5", RECALIGN_MEMBER(model.n_layers), "from_scratch: layers (Llama-2-7b: 32)").range(1, 512);
    add(t, "model.n_heads", "8", RECALIGN_MEMBER(model.n_heads), "from_scratch: query heads; must divide dim").range(1, 512);
    add(t, "model.n_kv_heads", "4", RECALIGN_MEMBER(model.n_kv_heads), "from_scratch: key/value heads; must divide n_heads").range(1, 512);
    add(t, "model.hidden_dim", "0", RECALIGN_MEMBER(model.hidden_dim), "from_scratch: SwiGLU width; 0 = Llama's rule (8/3 dim rounded up to 32)").range(0, 1000000);
    add(t, "model.max_seq_len", "1024", RECALIGN_MEMBER(model.max_seq_len), "from_scratch: longest sequence (prompt + output) in tokens").range(16, 1000000);
    add(t, "model.vocab_size", "0", RECALIGN_MEMBER(model.vocab_size), "from_scratch: vocabulary; 0 = the tokenizer's").range(0, 10000000);
    add(t, "model.norm_eps", "1e-05", RECALIGN_MEMBER(model.norm_eps), "from_scratch: RMSNorm epsilon").range(0, 1, true);
    add(t, "model.rope_theta", "10000", RECALIGN_MEMBER(model.rope_theta), "from_scratch: RoPE base").range(0, 1e9, true);
    add(t, "model.pretrain.epochs", "2", RECALIGN_MEMBER(model.pretrain.epochs), "from_scratch: LM pre-training epochs over titles and prompts; 0 = none").range(0, 100000);
    add(t, "model.pretrain.lr", "0.001", RECALIGN_MEMBER(model.pretrain.lr), "from_scratch: pre-training AdamW learning rate").range(0, 1, true);
    add(t, "model.pretrain.batch", "32", RECALIGN_MEMBER(model.pretrain.batch), "from_scratch: pre-training sequences per step").range(1, 1000000);
    add(t, "model.pretrain.seed", "0", RECALIGN_MEMBER(model.pretrain.seed), "from_scratch: the base model's own seed (tokenizer, corpus, pre-training), so one base model serves every run of a seed group, as a downloaded model would; -1 = each run's seed").range(-1, INT_MAX);
    add(t, "model.pretrain.history_lists", "0", RECALIGN_MEMBER(model.pretrain.history_lists), "from_scratch: documents drawn from users' training sequences (half as history, half as a numbered list); 0 = one per user").range(0, 100000000);
}

// tokenizer keys
static void addTokenizerKeys(std::vector<FieldDef>& t)
{
    add(t, "tokenizer.path", "", RECALIGN_MEMBER(tokenizer.path),
        "sentencepiece .model; \"\" = hf: <model.path>/tokenizer.model, from_scratch: trained on the data; required for llama2c").path(PathKind::File);
    add(t, "tokenizer.vocab_size", "512", RECALIGN_MEMBER(tokenizer.vocab_size), "vocabulary of a trained tokenizer").range(64, 1000000);
    add(t, "tokenizer.model_type", "bpe", RECALIGN_MEMBER(tokenizer.model_type), "trained tokenizer kind: bpe (Llama) | unigram").choices({"bpe", "unigram"});
}

// SFT keys
static void addSftKeys(std::vector<FieldDef>& t)
{
    add(t, "sft.lora.r", "16", RECALIGN_MEMBER(sft.lora.r), "LoRA rank [released 16]").range(1, 4096);
    add(t, "sft.lora.alpha", "8", RECALIGN_MEMBER(sft.lora.alpha), "LoRA alpha; scaling alpha/r [released 8]").range(0, 1e6, true);
    add(t, "sft.lora.dropout", "0.1", RECALIGN_MEMBER(sft.lora.dropout), "LoRA dropout [released 0.1]").range(0, 0.95);
    add(t, "sft.lora.targets", "[q, k, v, o, gate, up, down, lm_head]", RECALIGN_MEMBER(sft.lora.targets),
        "linear layers with an adapter [released: every linear including lm_head]").choices(kLoraTargets);
    add(t, "sft.lora.init", "orthogonal", RECALIGN_MEMBER(sft.lora.init),
        "LoRA A init: orthogonal (gain sqrt 2) [released] | kaiming (PEFT default); B starts at 0").choices({"orthogonal", "kaiming"});
    add(t, "sft.full_finetune", "false", RECALIGN_MEMBER(sft.full_finetune), "train every weight instead of LoRA adapters");
    add(t, "sft.gradient_checkpointing", "false", RECALIGN_MEMBER(sft.gradient_checkpointing),
        "keep only each decoder layer's input and recompute the layer in the backward pass: less activation memory, one more forward");
    add(t, "sft.init_adapter", "", RECALIGN_MEMBER(sft.init_adapter),
        "a PEFT LoRA adapter folder (adapter_config.json + adapter_model.safetensors) training starts from; its rank, alpha, dropout and targets replace sft.lora's; \"\" = a fresh adapter").path(PathKind::Dir);
    add(t, "sft.lr", "0.001", RECALIGN_MEMBER(sft.lr), "AdamW peak learning rate [released 1e-3]").range(0, 1, true);
    add(t, "sft.weight_decay", "0.01", RECALIGN_MEMBER(sft.weight_decay), "AdamW weight decay on matrices; 0 on vectors [released 0.01]").range(0, 1);
    add(t, "sft.warmup_ratio", "0.0125", RECALIGN_MEMBER(sft.warmup_ratio), "linear warm-up share of all steps [released 1.25 %]").range(0, 1);
    add(t, "sft.lr_power", "2", RECALIGN_MEMBER(sft.lr_power), "polynomial decay power after warm-up; 1 = linear [released 2]").range(0, 10);
    add(t, "sft.end_lr", "1e-07", RECALIGN_MEMBER(sft.end_lr), "learning rate at the last step [released 1e-7]").range(0, 1);
    add(t, "sft.grad_clip", "1", RECALIGN_MEMBER(sft.grad_clip), "gradient-norm clip; 0 = off [released 1.0]").range(0, 1e6);
    add(t, "sft.grad_accum", "64", RECALIGN_MEMBER(sft.grad_accum), "micro-batches per optimiser step [released 64 on one GPU]").range(1, 100000);
    add(t, "sft.batch", "1", RECALIGN_MEMBER(sft.batch), "samples per micro-batch [released 1]").range(1, 100000);
    add(t, "sft.epochs", "40", RECALIGN_MEMBER(sft.epochs), "epochs; every epoch re-samples windows and templates [released 40]").range(1, 100000);
    add(t, "sft.max_prompt_tokens", "512", RECALIGN_MEMBER(sft.max_prompt_tokens), "prompt tokens kept, left-truncated [released 512]").range(8, 1000000);
    add(t, "sft.max_output_tokens", "512", RECALIGN_MEMBER(sft.max_output_tokens), "output tokens kept / generated [released 512]").range(8, 1000000);
    add(t, "sft.share_chat_ratio", "0.5", RECALIGN_MEMBER(sft.share_chat_ratio), "I4 (ShareGPT) samples per recommendation sample [released 0.5]").range(0, 100);
    add(t, "sft.sharegpt_path", "", RECALIGN_MEMBER(sft.sharegpt_path), "ShareGPT-style JSON for I4; \"\" = built-in conversations when builtin_conversations, else I4 is skipped").path(PathKind::File);
    add(t, "sft.builtin_conversations", "false", RECALIGN_MEMBER(sft.builtin_conversations), "without sharegpt_path: I4 from built-in conversations about the catalogue (this project's stand-in for ShareGPT); false = I4 is skipped");
    add(t, "sft.val_users_per_task", "320", RECALIGN_MEMBER(sft.val_users_per_task), "validation users per task, disjoint slices; 0 = no validation [released 320]").range(0, 100000000);
    add(t, "sft.selection_metric", "ndcg", RECALIGN_MEMBER(sft.selection_metric),
        "checkpoint kept: ndcg (best mean validation NDCG) [released] | hr (best mean validation HR) | last").choices({"ndcg", "hr", "last"});
}

// PPO keys
static void addPpoKeys(std::vector<FieldDef>& t)
{
    addLora(t, "ppo.actor_lora", true);
    addLora(t, "ppo.critic_lora", false);
    add(t, "ppo.algorithm", "ppo", RECALIGN_MEMBER(ppo.algorithm),
        "RL algorithm: ppo = critic + GAE [paper] | grpo = advantages normalised within each prompt's group "
        "(DeepSeekMath) | rloo = leave-one-out baseline | reinforce_pp = REINFORCE++ (batch-whitened returns, "
        "token-level KL); the critic-free ones train no value head and load no critic adapter")
        .choices({"ppo", "grpo", "rloo", "reinforce_pp"});
    add(t, "ppo.dr_grpo", "false", RECALIGN_MEMBER(ppo.dr_grpo),
        "grpo: Dr. GRPO (Liu et al. 2025): divide neither by the group's reward std nor by each response's length "
        "(token losses summed over max_output_tokens)");
    add(t, "ppo.kl_in", "auto", RECALIGN_MEMBER(ppo.kl_in),
        "where the KL to the SFT policy enters: reward = per-token penalty kl_coef x kl_estimator in the token "
        "rewards (eq. 6) | loss = kl_coef x k3 added to the policy loss (as GRPO does) | auto = loss for grpo, reward "
        "for the others").choices({"auto", "reward", "loss"});
    add(t, "ppo.gradient_checkpointing", "false", RECALIGN_MEMBER(ppo.gradient_checkpointing),
        "recompute each decoder layer in the backward pass of PPO's learning forwards: less activation memory, one more forward");
    add(t, "ppo.init_adapter", "", RECALIGN_MEMBER(ppo.init_adapter),
        "a PEFT LoRA adapter folder the actor starts from (its rank, alpha, dropout and targets replace ppo.actor_lora's); \"\" = a fresh actor").path(PathKind::Dir);
    add(t, "ppo.lr", "5e-06", RECALIGN_MEMBER(ppo.lr), "AdamW learning rate for actor, critic and lm_head [released 5e-6]").range(0, 1, true);
    add(t, "ppo.episodes", "2", RECALIGN_MEMBER(ppo.episodes), "passes over the RL prompts (one per user per RL task) [released 2]").range(1, 100000);
    add(t, "ppo.prompts_per_batch", "8", RECALIGN_MEMBER(ppo.prompts_per_batch), "prompts per rollout batch [released 8 per device]").range(1, 100000);
    add(t, "ppo.samples_per_prompt", "2", RECALIGN_MEMBER(ppo.samples_per_prompt), "responses per prompt (a group): ppo = 1 greedy + the rest sampled [released 2]; grpo / rloo / reinforce_pp = all sampled (>= 2)").range(1, 64);
    add(t, "ppo.temperature", "0.7", RECALIGN_MEMBER(ppo.temperature), "sampling temperature [released 0.7]").range(0, 10, true);
    add(t, "ppo.top_k", "20", RECALIGN_MEMBER(ppo.top_k), "top-k sampling; 0 = off [released 20]").range(0, 10000000);
    add(t, "ppo.top_p", "1", RECALIGN_MEMBER(ppo.top_p), "nucleus sampling; 1 = off [released off]").range(0, 1, true);
    add(t, "ppo.kl_coef", "0.3", RECALIGN_MEMBER(ppo.kl_coef), "eta: per-token KL penalty to the SFT policy (eq. 6) [released 0.3]").range(0, 1000);
    add(t, "ppo.kl_estimator", "k1", RECALIGN_MEMBER(ppo.kl_estimator), "per-token KL: k1 = log ratio [released] | k2 = (log ratio)^2 / 2 | k3 = (r - 1) - log r (unbiased, >= 0)").choices({"k1", "k2", "k3"});
    add(t, "ppo.adaptive_kl", "false", RECALIGN_MEMBER(ppo.adaptive_kl), "adapt kl_coef towards target_kl (Ziegler et al.) [released: fixed]");
    add(t, "ppo.target_kl", "6", RECALIGN_MEMBER(ppo.target_kl), "adaptive_kl: target KL per sequence [TRL default 6]").range(0, 1e6, true);
    add(t, "ppo.horizon", "10000", RECALIGN_MEMBER(ppo.horizon), "adaptive_kl: horizon in samples [TRL default 10000]").range(1, 1e9);
    add(t, "ppo.whiten_rewards", "true", RECALIGN_MEMBER(ppo.whiten_rewards), "scale token rewards by their std (no mean shift) [released on]");
    add(t, "ppo.whiten_advantages", "true", RECALIGN_MEMBER(ppo.whiten_advantages), "whiten GAE advantages over the rollout's tokens (mean 0, std 1) [released and TRL on]");
    add(t, "ppo.gamma", "0.99", RECALIGN_MEMBER(ppo.gamma), "GAE discount [released 0.99]").range(0, 1);
    add(t, "ppo.lam", "1", RECALIGN_MEMBER(ppo.lam), "GAE lambda [released 1.0]").range(0, 1);
    add(t, "ppo.clip_eps", "0.2", RECALIGN_MEMBER(ppo.clip_eps), "ratio clip [released 0.2, hard-coded]").range(0, 10, true);
    add(t, "ppo.value_clip", "0.2", RECALIGN_MEMBER(ppo.value_clip), "value clip around V_old; 0 = off [released 0.2, hard-coded]").range(0, 1e6);
    add(t, "ppo.vf_coef", "0.1", RECALIGN_MEMBER(ppo.vf_coef), "value-loss coefficient [released 0.1]").range(0, 1e6);
    add(t, "ppo.ent_coef", "0.01", RECALIGN_MEMBER(ppo.ent_coef), "entropy bonus coefficient [released 0.01]").range(0, 100);
    add(t, "ppo.ppo_epochs", "4", RECALIGN_MEMBER(ppo.ppo_epochs), "PPO epochs over each rollout buffer [released 4]").range(1, 1000);
    add(t, "ppo.grad_accum", "4", RECALIGN_MEMBER(ppo.grad_accum), "sequences per optimiser step (micro-batch 1) [released 4 on one GPU]").range(1, 100000);
    add(t, "ppo.policy_kl_threshold", "0.05", RECALIGN_MEMBER(ppo.policy_kl_threshold), "stop the PPO epochs when policy KL exceeds this; 0 = never [released 0.05]").range(0, 1e6);
    add(t, "ppo.grad_clip", "0.5", RECALIGN_MEMBER(ppo.grad_clip), "gradient-norm clip; 0 = off [released 0.5]").range(0, 1e6);
    add(t, "ppo.warmup_steps", "50", RECALIGN_MEMBER(ppo.warmup_steps), "learning-rate warm-up in PPO updates [released 50 x processes]").range(0, 1e9);
    add(t, "ppo.constrained_decoding", "false", RECALIGN_MEMBER(ppo.constrained_decoding), "restrict sampled titles to the catalogue (title trie) [not in the paper]");
    add(t, "ppo.reward_variant", "paper", RECALIGN_MEMBER(ppo.reward_variant),
        "paper: PAPER.md §3 formulas [default] | recai: the released rl/reward.py NR-20").choices({"paper", "recai"});
    add(t, "ppo.reward_alpha", "0.5", RECALIGN_MEMBER(ppo.reward_alpha), "weight of the ranking term against the control term [paper and released 0.5]").range(0, 1);
    add(t, "ppo.rerender_actions", "false", RECALIGN_MEMBER(ppo.rerender_actions), "train on the canonically re-rendered list instead of the raw sample (default off: PPO trains on the sampled tokens) [released on]");
    add(t, "ppo.lm_head_trainable", "false", RECALIGN_MEMBER(ppo.lm_head_trainable), "train lm_head fully (the reference policy drifts with it) (default off: the reference stays the SFT policy) [released on]");
    add(t, "ppo.train_value_head", "true", RECALIGN_MEMBER(ppo.train_value_head), "optimise the value head; false reproduces the released bug (RECLM-GEN §9.1)");
    add(t, "ppo.max_iterations", "0", RECALIGN_MEMBER(ppo.max_iterations), "stop after N rollout batches; 0 = episodes x batches [released picks: 3000]").range(0, 1e9);
    add(t, "ppo.val_every", "100", RECALIGN_MEMBER(ppo.val_every), "validate (greedy lists on the RL validation tasks) and keep the best every N rollout batches; 0 = no validation, the last iteration is exported [released 100]").range(0, 1e9);
    add(t, "ppo.val_users_per_task", "320", RECALIGN_MEMBER(ppo.val_users_per_task), "validation users per RL task [released 320]").range(0, 100000000);
    add(t, "ppo.selection_metric", "list_reward", RECALIGN_MEMBER(ppo.selection_metric),
        "checkpoint kept: list_reward (best mean validation list reward) [released] | last").choices({"list_reward", "last"});
}

// DPO keys
static void addDpoKeys(std::vector<FieldDef>& t)
{
    add(t, "dpo.beta", "0.1", RECALIGN_MEMBER(dpo.beta), "beta: strength of the implicit KL to the SFT model [DPO / S-DPO papers 0.1; TRL default 0.1]").range(0, 1000, true);
    add(t, "dpo.negatives", "3", RECALIGN_MEMBER(dpo.negatives), "sdpo: rejected lists per chosen one (the lowest-scored of the sampled lists; S-DPO used 3) — dpo rows use 1").range(1, 63);
    add(t, "dpo.samples_per_prompt", "4", RECALIGN_MEMBER(dpo.samples_per_prompt), "lists sampled from the SFT model per prompt and ranked by their total rule-based reward (sum of item rewards + list reward); must exceed dpo.negatives").range(2, 64);
    add(t, "dpo.max_prompts", "0", RECALIGN_MEMBER(dpo.max_prompts), "prompts to build preferences from; 0 = every RL prompt of one episode (as ppo.episodes 1)").range(0, 100000000);
    add(t, "dpo.lr", "5e-04", RECALIGN_MEMBER(dpo.lr), "AdamW learning rate of the DPO adapter (ppo.actor_lora's shape)").range(0, 1, true);
    add(t, "dpo.epochs", "2", RECALIGN_MEMBER(dpo.epochs), "passes over the preference groups").range(1, 1000);
    add(t, "dpo.grad_accum", "4", RECALIGN_MEMBER(dpo.grad_accum), "preference groups per optimiser step").range(1, 100000);
    add(t, "dpo.warmup_steps", "5", RECALIGN_MEMBER(dpo.warmup_steps), "learning-rate warm-up in optimiser steps (then linear decay)").range(0, 1e9);
}

// evaluation keys
static void addEvaluationKeys(std::vector<FieldDef>& t)
{
    add(t, "evaluation.tasks", "[i0, i1+, i1-, i2le_20, i2ge_30, i2approx_30, itemcount]", RECALIGN_MEMBER(evaluation.tasks),
        "test tasks [released tasks_test.sh]: I0, I1 +C/-C, I2 <=20 % / >=30 % / ~30 %, item count 11-15")
        .choices({task_name::kI0, task_name::kI1Plus, task_name::kI1Minus, task_name::kI2Le20, task_name::kI2Ge30,
                  task_name::kI2Approx30, task_name::kItemCount});
    add(t, "evaluation.topk", "10", RECALIGN_MEMBER(evaluation.topk), "K of HR@K, NDCG@K, ... [released 10]").range(1, 20);
    add(t, "evaluation.users", "0", RECALIGN_MEMBER(evaluation.users), "test users per task (first N with a test target); 0 = all [released all]").range(0, 100000000);
    add(t, "evaluation.fuzzy_mapping", "true", RECALIGN_MEMBER(evaluation.fuzzy_mapping), "map unknown titles to the first title within fuzzy_distance [released on in test]");
    add(t, "evaluation.fuzzy_distance", "3", RECALIGN_MEMBER(evaluation.fuzzy_distance), "Levenshtein distance of the fuzzy mapping [released 3]").range(0, 64);
    add(t, "evaluation.batch", "16", RECALIGN_MEMBER(evaluation.batch), "prompts generated together (greedy)").range(1, 100000);
    add(t, "evaluation.mmlu_path", "", RECALIGN_MEMBER(evaluation.mmlu_path), "MMLU-style CSV (question,A,B,C,D,answer; its first mmlu_k_shot rows the examples), or a folder as MMLU is published (test/SUBJECT_test.csv + dev/SUBJECT_dev.csv: per-subject and macro-averaged accuracy); \"\" = no MMLU column").path(PathKind::Any);
    add(t, "evaluation.gsm8k_path", "", RECALIGN_MEMBER(evaluation.gsm8k_path), "GSM8K-style JSON lines (question, answer ending '#### N'); \"\" = no GSM8K column").path(PathKind::File);
    add(t, "evaluation.mmlu_k_shot", "5", RECALIGN_MEMBER(evaluation.mmlu_k_shot), "MMLU examples in the prompt: the file's first k rows, which are not scored; fewer when the model's context is short").range(0, 64);
    add(t, "evaluation.gsm8k_k_shot", "8", RECALIGN_MEMBER(evaluation.gsm8k_k_shot), "GSM8K worked examples in the prompt: the file's first k problems, which are not scored; fewer when the model's context is short").range(0, 64);
    add(t, "evaluation.general_limit", "0", RECALIGN_MEMBER(evaluation.general_limit), "MMLU / GSM8K questions scored; 0 = all").range(0, 100000000);
    add(t, "evaluation.gsm8k_max_new_tokens", "256", RECALIGN_MEMBER(evaluation.gsm8k_max_new_tokens), "GSM8K answer length: greedy tokens generated per problem (stops earlier at EOS or \"\\n\\nQuestion:\"; capped by the model's max_seq_len)").range(1, 32768);
}

// distributed keys
static void addDistributedKeys(std::vector<FieldDef>& t)
{
    add(t, "distributed.backend", "auto", RECALIGN_MEMBER(distributed.backend),
        "c10d process group of a data-parallel run (torchrun / srun / recalign run --nproc N): gloo (CPU) | nccl "
        "(CUDA; needs a libtorch built with it) | auto (nccl on CUDA, else gloo); one process ignores it")
        .choices({"auto", "gloo", "nccl"});
    add(t, "distributed.timeout_s", "300", RECALIGN_MEMBER(distributed.timeout_s),
        "seconds a rank waits in a collective, or for rank 0, before it stops with an error naming the rank that "
        "stopped [torch.distributed default 1800]").range(1, 86400);
}

static std::vector<FieldDef> buildTable()
{
    std::vector<FieldDef> t;
    t.reserve(160);
    addExperimentKeys(t);
    addDatasetKeys(t);
    addTeacherKeys(t);
    addModelKeys(t);
    addTokenizerKeys(t);
    addSftKeys(t);
    addPpoKeys(t);
    addDpoKeys(t);
    addEvaluationKeys(t);
    addDistributedKeys(t);
    return t;
}

#undef RECALIGN_MEMBER

const std::vector<FieldDef>& fieldTable()
{
    static const std::vector<FieldDef> table = buildTable();
    return table;
}

const FieldDef* findField(const std::string& key)
{
    static const std::map<std::string, size_t> index = [] {
        std::map<std::string, size_t> m;
        const auto& t = fieldTable();
        for (size_t i = 0; i < t.size(); ++i)
            m.emplace(t[i].field.key, i);
        return m;
    }();
    auto it = index.find(key);
    return it == index.end() ? nullptr : &fieldTable()[it->second];
}

bool isSection(const std::string& key)
{
    static const std::set<std::string> sections = [] {
        std::set<std::string> s;
        for (const auto& d : fieldTable()) {
            const std::string& k = d.field.key;
            for (size_t p = k.find('.'); p != std::string::npos; p = k.find('.', p + 1))
                s.insert(k.substr(0, p));
        }
        return s;
    }();
    return sections.count(key) > 0;
}

}  // namespace experiment_detail

const std::vector<ConfigField>& experimentSchema()
{
    static const std::vector<ConfigField> schema = [] {
        std::vector<ConfigField> s;
        for (const auto& d : experiment_detail::fieldTable())
            s.push_back(d.field);
        return s;
    }();
    return schema;
}

}  // namespace recalign::core
