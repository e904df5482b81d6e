// Reading, checking and writing experiment files with the schema table (experiment_config.cpp):
// YAML -> ExperimentConfig with issues naming key and line, semantic validation, toYaml and
// canonical JSON. The only place that touches yaml-cpp.
#include "core/pipeline/experiment_config.h"

#include "core/api/info.h"
#include "core/api/runners.h"
#include "core/util/files.h"
#include "core/util/strings.h"

#include <nlohmann/json.hpp>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <climits>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <thread>
#include <tuple>

namespace recalign::core {

namespace experiment_io_detail {

using experiment_detail::FieldDef;
using experiment_detail::FieldValue;
using experiment_detail::PathKind;
namespace fs = std::filesystem;

struct Reader {
    std::vector<ConfigIssue> errors;
    std::map<std::string, int> lines;  // dotted key -> 1-based line

    void issue(const std::string& key, const std::string& message, int line)
    {
        errors.push_back(ConfigIssue{key, message, line});
    }
};

static int lineOf(const YAML::Node& node) { return node.Mark().line >= 0 ? node.Mark().line + 1 : 0; }

// Up to three known keys close to `key` (full dotted keys and sections).
static std::vector<std::string> suggestions(const std::string& key)
{
    const std::string leaf = key.substr(key.rfind('.') == std::string::npos ? 0 : key.rfind('.') + 1);
    const std::string section = key.substr(0, key.size() - leaf.size());
    // (distance, other section?, key): same-section names first among equals.
    std::vector<std::tuple<int, int, std::string>> scored;
    std::set<std::string> seen;
    auto consider = [&](const std::string& candidate) {
        if (!seen.insert(candidate).second)
            return;
        const std::string cleaf = candidate.substr(candidate.rfind('.') == std::string::npos ? 0 : candidate.rfind('.') + 1);
        const bool sameSection = candidate.size() >= cleaf.size() && candidate.substr(0, candidate.size() - cleaf.size()) == section;
        // The full key's distance, or the leaf's when the leaf moved to another section; a
        // same-section name that contains the leaf ("lora" in "actor_lora") counts as close.
        int d = std::min(str::levenshtein(key, candidate), str::levenshtein(leaf, cleaf) + 1);
        if (sameSection && leaf.size() >= 3 && cleaf.find(leaf) != std::string::npos)
            d = std::min(d, 1);
        scored.emplace_back(d, sameSection ? 0 : 1, candidate);
    };
    for (const auto& d : experiment_detail::fieldTable()) {
        const std::string& k = d.field.key;
        consider(k);
        for (size_t p = k.find('.'); p != std::string::npos; p = k.find('.', p + 1))
            consider(k.substr(0, p));
    }
    std::stable_sort(scored.begin(), scored.end(), [](const auto& a, const auto& b) {
        return std::make_pair(std::get<0>(a), std::get<1>(a)) < std::make_pair(std::get<0>(b), std::get<1>(b));
    });
    const int limit = std::max(2, static_cast<int>(leaf.size()) / 3);
    std::vector<std::string> out;
    for (const auto& [d, other, k] : scored) {
        (void)other;
        if (d > limit || out.size() == 3)
            break;
        out.push_back(k);
    }
    return out;
}

// Known keys directly under `section` ("" = top level).
static std::vector<std::string> keysUnder(const std::string& section)
{
    std::vector<std::string> out;
    const std::string prefix = section.empty() ? "" : section + ".";
    for (const auto& d : experiment_detail::fieldTable()) {
        const std::string& k = d.field.key;
        if (!str::startsWith(k, prefix))
            continue;
        std::string rest = k.substr(prefix.size());
        rest = rest.substr(0, rest.find('.'));
        if (std::find(out.begin(), out.end(), rest) == out.end())
            out.push_back(rest);
    }
    return out;
}

static std::string scalarText(const YAML::Node& n) { return n.IsNull() ? std::string() : n.Scalar(); }

// Checks one field's node and stores it in `config` when valid.
static void readField(Reader& r, const FieldDef& def, const YAML::Node& node, ExperimentConfig& config)
{
    const std::string& key = def.field.key;
    const int line = lineOf(node);
    const auto t = def.field.type;
    const bool isList = t == ConfigField::Type::IntList || t == ConfigField::Type::DoubleList
                        || t == ConfigField::Type::StringList;
    FieldValue value;
    value.list = isList;
    if (isList) {
        if (!node.IsSequence()) {
            r.issue(key, "expected a list such as [" + def.field.default_value.substr(1, def.field.default_value.size() >= 2 ? def.field.default_value.size() - 2 : 0)
                             + "], got " + (node.IsMap() ? std::string("a mapping") : "'" + scalarText(node) + "'"),
                    line);
            return;
        }
        for (size_t i = 0; i < node.size(); ++i) {
            const YAML::Node e = node[i];
            if (!e.IsScalar()) {
                r.issue(key, "list element " + std::to_string(i + 1) + " must be a single value", lineOf(e));
                return;
            }
            if (const std::string msg = experiment_detail::checkElement(def, e.Scalar()); !msg.empty()) {
                r.issue(key, "element " + std::to_string(i + 1) + ": " + msg, lineOf(e));
                return;
            }
            value.items.push_back(e.Scalar());
        }
    } else {
        if (node.IsMap() || node.IsSequence()) {
            r.issue(key, std::string("expected a single value, got a ") + (node.IsMap() ? "mapping" : "list"), line);
            return;
        }
        const bool textual = t == ConfigField::Type::String || t == ConfigField::Type::Path;
        if (node.IsNull() && !textual) {
            r.issue(key, "missing value (default: " + def.field.default_value + ")", line);
            return;
        }
        const std::string text = scalarText(node);
        if (const std::string msg = experiment_detail::checkElement(def, text); !msg.empty()) {
            r.issue(key, msg, line);
            return;
        }
        value.items.push_back(text);
    }
    def.set(config, value);
}

static void readMap(Reader& r, const YAML::Node& map, const std::string& section, ExperimentConfig& config)
{
    std::set<std::string> seen;
    for (auto it = map.begin(); it != map.end(); ++it) {
        const YAML::Node k = it->first;  // copies: it-> yields a temporary pair (yaml-cpp)
        const YAML::Node v = it->second;
        if (!k.IsScalar()) {
            r.issue(section, "keys must be plain names", lineOf(k));
            continue;
        }
        const std::string name = k.Scalar();
        const std::string full = section.empty() ? name : section + "." + name;
        const int line = lineOf(k);
        if (!seen.insert(name).second) {
            r.issue(full, "duplicate key", line);
            continue;
        }
        r.lines[full] = line;
        if (const FieldDef* def = experiment_detail::findField(full)) {
            readField(r, *def, v, config);
        } else if (experiment_detail::isSection(full)) {
            if (v.IsMap())
                readMap(r, v, full, config);
            else if (!v.IsNull())
                r.issue(full, "expected a section (keys: " + str::join(keysUnder(full), ", ") + ")", line);
        } else {
            const auto near = suggestions(full);
            std::string msg = "unknown key";
            if (!near.empty()) {
                std::vector<std::string> q;
                for (const auto& n : near)
                    q.push_back("'" + n + "'");
                msg += "; did you mean " + str::join(q, " or ") + "?";
            } else {
                msg += "; valid keys " + (section.empty() ? std::string("at the top level") : "in '" + section + "'")
                       + ": " + str::join(keysUnder(section), ", ");
            }
            r.issue(full, msg, line);
        }
    }
}

static std::string rangeText(const FieldDef& d)
{
    auto num = [&](double v) {
        return d.field.type == ConfigField::Type::Int || d.field.type == ConfigField::Type::IntList
                   ? std::to_string(static_cast<long long>(v))
                   : yamlFormatNumber(v);
    };
    if (d.min_exclusive)
        return "> " + num(d.field.min) + " and <= " + num(d.field.max);
    return "between " + num(d.field.min) + " and " + num(d.field.max);
}

static bool pathExists(const std::string& p, PathKind kind)
{
    std::error_code ec;
    switch (kind) {
    case PathKind::File: return fs::is_regular_file(p, ec);
    case PathKind::Dir: return fs::is_directory(p, ec);
    default: return fs::exists(p, ec);
    }
}

static std::string yamlQuote(const std::string& s)
{
    std::string out = "\"";
    for (unsigned char c : s) {
        switch (c) {
        case '"': out += "\\\""; break;
        case '\\': out += "\\\\"; break;
        case '\n': out += "\\n"; break;
        case '\t': out += "\\t"; break;
        case '\r': out += "\\r"; break;
        default:
            if (c < 0x20) {
                char buf[8];
                std::snprintf(buf, sizeof(buf), "\\x%02x", c);
                out += buf;
            } else {
                out += static_cast<char>(c);
            }
        }
    }
    return out + "\"";
}

static bool isTextual(ConfigField::Type t)
{
    return t == ConfigField::Type::String || t == ConfigField::Type::Path;
}

static std::string valueYaml(const FieldDef& d, const FieldValue& v)
{
    // Free-text lists (variants) quote only the items YAML would misread.
    const bool freeList = d.field.type == ConfigField::Type::StringList && d.field.choices.empty();
    auto one = [&](const std::string& s) {
        return isTextual(d.field.type) ? yamlQuote(s) : freeList ? yamlQuoteIfNeeded(s) : s;
    };
    if (!v.list)
        return one(v.items.empty() ? std::string() : v.items[0]);
    std::vector<std::string> parts;
    for (const auto& s : v.items)
        parts.push_back(one(s));
    return "[" + str::join(parts, ", ") + "]";
}

static void fillLines(std::vector<ConfigIssue>& issues, const std::map<std::string, int>& lines)
{
    for (auto& i : issues) {
        if (i.line > 0)
            continue;
        for (std::string k = i.key; !k.empty();) {
            auto it = lines.find(k);
            if (it != lines.end()) {
                i.line = it->second;
                break;
            }
            const auto dot = k.rfind('.');
            k = dot == std::string::npos ? std::string() : k.substr(0, dot);
        }
    }
}

}  // namespace experiment_io_detail

using namespace experiment_io_detail;

ExperimentConfig defaultExperiment()
{
    ExperimentConfig c;
    for (const auto& d : experiment_detail::fieldTable()) {
        YAML::Node n = YAML::Load(d.field.default_value.empty() ? "\"\"" : d.field.default_value);
        FieldValue v;
        v.list = n.IsSequence();
        if (v.list)
            for (size_t i = 0; i < n.size(); ++i)
                v.items.push_back(n[i].Scalar());
        else
            v.items.push_back(n.Scalar());
        d.set(c, v);
    }
    return c;
}

std::string resolvePath(const ExperimentConfig& config, const std::string& path)
{
    if (path.empty())
        return {};
    fs::path p(path);
    if (p.is_relative())
        p = fs::path(config.base_dir.empty() ? fs::current_path() : fs::path(config.base_dir)) / p;
    return fs::absolute(p).lexically_normal().string();
}

void rebasePaths(ExperimentConfig& config, const std::string& new_base_dir)
{
    const fs::path base = fs::absolute(new_base_dir.empty() ? fs::current_path() : fs::path(new_base_dir)).lexically_normal();
    for (const auto& d : experiment_detail::fieldTable()) {
        if (d.path_kind == PathKind::None)
            continue;
        FieldValue v = d.get(config);
        if (v.items.empty() || v.items[0].empty() || fs::path(v.items[0]).is_absolute())
            continue;
        v.items[0] = fs::path(resolvePath(config, v.items[0])).lexically_relative(base).string();
        d.set(config, v);
    }
    config.base_dir = base.string();
}

std::vector<ConfigIssue> validateExperiment(const ExperimentConfig& c, const ValidateOptions& options,
                                            std::vector<ConfigIssue>* warnings)
{
    std::vector<ConfigIssue> errors;
    auto error = [&](const std::string& key, const std::string& msg) { errors.push_back({key, msg, 0}); };
    // Ranges of numbers and numeric lists.
    for (const auto& d : experiment_detail::fieldTable()) {
        if (!d.field.has_range)
            continue;
        for (const auto& text : d.get(c).items) {
            const double v = experiment_detail::parseDoubleText(text);
            const bool low = d.min_exclusive ? v > d.field.min : v >= d.field.min;
            if (!low || v > d.field.max) {
                error(d.field.key, "value " + text + " is out of range: expected " + rangeText(d));
                break;
            }
        }
    }
    // Lists that must be non-empty and free of repeats.
    auto listCheck = [&](const std::string& key, bool mayBeEmpty) {
        const auto items = experiment_detail::findField(key)->get(c).items;
        if (items.empty() && !mayBeEmpty)
            error(key, "must name at least one value");
        std::set<std::string> seen;
        for (const auto& s : items)
            if (!seen.insert(s).second) {
                error(key, "'" + s + "' is listed twice");
                break;
            }
    };
    listCheck("seeds", false);
    listCheck("variants", false);
    for (size_t i = 0; i < c.variants.size(); ++i) {
        std::string why;
        if (!parseVariantRecipe(c.variants[i], nullptr, &why))
            error("variants", "element " + std::to_string(i + 1) + ": " + why);
    }
    listCheck("evaluation.tasks", false);
    listCheck("sft.lora.targets", c.sft.full_finetune);
    listCheck("ppo.actor_lora.targets", false);
    listCheck("ppo.critic_lora.targets", false);
    // Cross-field rules.
    using Src = ModelConfig::Source;
    if (c.teacher.heads > 0 && c.teacher.hidden % c.teacher.heads != 0)
        error("teacher.heads", "teacher.hidden (" + std::to_string(c.teacher.hidden) + ") must be a multiple of teacher.heads ("
                                   + std::to_string(c.teacher.heads) + ")");
    if (c.model.source == Src::FromScratch) {
        if (c.model.n_heads > 0 && c.model.dim % c.model.n_heads != 0)
            error("model.n_heads", "model.dim (" + std::to_string(c.model.dim) + ") must be a multiple of model.n_heads ("
                                       + std::to_string(c.model.n_heads) + ")");
        else if (c.model.n_heads > 0 && (c.model.dim / c.model.n_heads) % 2 != 0)
            error("model.n_heads", "head size model.dim / model.n_heads must be even for RoPE");
        if (c.model.n_kv_heads > 0 && c.model.n_heads % c.model.n_kv_heads != 0)
            error("model.n_kv_heads", "model.n_heads (" + std::to_string(c.model.n_heads) + ") must be a multiple of model.n_kv_heads ("
                                          + std::to_string(c.model.n_kv_heads) + ")");
        if (c.sft.max_prompt_tokens + c.sft.max_output_tokens > c.model.max_seq_len)
            error("model.max_seq_len", "sft.max_prompt_tokens + sft.max_output_tokens (" + std::to_string(c.sft.max_prompt_tokens + c.sft.max_output_tokens)
                                           + ") exceed model.max_seq_len (" + std::to_string(c.model.max_seq_len) + ")");
        if (c.model.vocab_size > 0 && c.tokenizer.path.empty() && c.model.vocab_size != c.tokenizer.vocab_size)
            error("model.vocab_size", "must be 0 or equal to tokenizer.vocab_size (" + std::to_string(c.tokenizer.vocab_size) + ") for a trained tokenizer");
    }
    if (c.model.dtype == ModelConfig::DType::Float16 && c.device.kind == DeviceSpec::Kind::Cpu)
        error("model.dtype", "float16 needs a GPU (torch has no float16 matrix product on the CPU): "
                             "use bfloat16 or float32 with device: cpu");
    const auto& syn = c.dataset.synthetic;
    if (syn.min_sequence_length > syn.max_sequence_length)
        error("dataset.synthetic.min_sequence_length", "must not exceed dataset.synthetic.max_sequence_length ("
                                                            + std::to_string(syn.max_sequence_length) + ")");
    if (syn.max_sequence_length > syn.items)
        error("dataset.synthetic.max_sequence_length", "must not exceed dataset.synthetic.items (" + std::to_string(syn.items)
                                                            + "): items never repeat in a sequence");
    if (syn.successors >= syn.items)
        error("dataset.synthetic.successors", "must be below dataset.synthetic.items (" + std::to_string(syn.items) + ")");
    if (c.ppo.lm_head_trainable && std::find(c.ppo.actor_lora.targets.begin(), c.ppo.actor_lora.targets.end(), "lm_head") != c.ppo.actor_lora.targets.end())
        error("ppo.actor_lora.targets", "lists lm_head while ppo.lm_head_trainable trains it fully; drop one");
    if (c.ppo.algorithm != RlAlgorithm::Ppo && c.ppo.samples_per_prompt < 2)
        error("ppo.samples_per_prompt", std::string("must be >= 2 with ppo.algorithm ") + rlAlgorithmName(c.ppo.algorithm)
                                            + ": its baseline comes from the other responses to the same prompt");
    if (c.dpo.samples_per_prompt <= c.dpo.negatives)
        error("dpo.samples_per_prompt", "must exceed dpo.negatives (" + std::to_string(c.dpo.negatives)
                                            + "): one chosen list and the negatives come from the samples");
    if (c.ppo.dr_grpo && c.ppo.algorithm != RlAlgorithm::Grpo)
        error("ppo.dr_grpo", std::string("applies to ppo.algorithm grpo only (this file says ")
                                 + rlAlgorithmName(c.ppo.algorithm) + ")");
    // Paths: required ones, then existence.
    auto report = [&](const std::string& key, const std::string& msg) {
        if (options.missing_files == FileCheck::Error)
            error(key, msg);
        else if (options.missing_files == FileCheck::Warning && warnings)
            warnings->push_back({key, msg, 0});
    };
    auto checkPath = [&](const std::string& key, const std::string& value, PathKind kind, const std::string& what) {
        if (value.empty())
            return;
        const std::string p = resolvePath(c, value);
        if (!pathExists(p, kind))
            report(key, what + " '" + p + "' does not exist");
    };
    const bool synthetic = c.dataset.source == DatasetConfig::Source::Synthetic;
    if (!synthetic && c.dataset.path.empty())
        error("dataset.path", "required when dataset.source is " + experiment_detail::findField("dataset.source")->get(c).items[0]);
    if (!synthetic)
        checkPath("dataset.path", c.dataset.path, PathKind::Any, "data path");
    if (c.model.source != Src::FromScratch && c.model.path.empty())
        error("model.path", std::string("required when model.source is ") + (c.model.source == Src::Hf ? "hf (the model folder)" : "llama2c (the .bin file)"));
    if (c.model.source == Src::Hf)
        checkPath("model.path", c.model.path, PathKind::Dir, "model folder");
    if (c.model.source == Src::Llama2c)
        checkPath("model.path", c.model.path, PathKind::File, "model file");
    if (c.model.source == Src::Llama2c && c.tokenizer.path.empty())
        error("tokenizer.path", "required when model.source is llama2c (the .bin holds no tokenizer)");
    checkPath("tokenizer.path", c.tokenizer.path, PathKind::File, "tokenizer file");
    if (c.model.source == Src::Hf && c.tokenizer.path.empty() && !c.model.path.empty()) {
        const std::string p = (fs::path(resolvePath(c, c.model.path)) / "tokenizer.model").string();
        if (pathExists(resolvePath(c, c.model.path), PathKind::Dir) && !pathExists(p, PathKind::File))
            report("tokenizer.path", "empty, and the model folder has no tokenizer.model ('" + p + "')");
    }
    checkPath("sft.sharegpt_path", c.sft.sharegpt_path, PathKind::File, "ShareGPT file");
    for (const auto& [key, dir] : {std::pair<std::string, std::string>{"sft.init_adapter", c.sft.init_adapter},
                                   {"ppo.init_adapter", c.ppo.init_adapter}}) {
        checkPath(key, dir, PathKind::Dir, "adapter folder");
        if (!dir.empty() && pathExists(resolvePath(c, dir), PathKind::Dir)
            && !pathExists((fs::path(resolvePath(c, dir)) / "adapter_config.json").string(), PathKind::File))
            report(key, "'" + resolvePath(c, dir) + "' has no adapter_config.json (expected a PEFT adapter folder)");
    }
    if (!c.sft.init_adapter.empty() && c.sft.full_finetune)
        error("sft.init_adapter", "needs LoRA training (sft.full_finetune is true)");
    checkPath("evaluation.mmlu_path", c.evaluation.mmlu_path, PathKind::Any, "MMLU file or folder");
    checkPath("evaluation.gsm8k_path", c.evaluation.gsm8k_path, PathKind::File, "GSM8K file");
    return errors;
}

ExperimentCheck checkExperimentText(const std::string& text, const std::string& base_dir, const ValidateOptions& options)
{
    ExperimentCheck out;
    out.config = defaultExperiment();
    out.config.base_dir = base_dir.empty() ? std::string() : fs::absolute(base_dir).lexically_normal().string();
    Reader r;
    if (const int bad = str::firstInvalidUtf8Line(text)) {
        out.errors.push_back({"", "invalid UTF-8 (an experiment file is UTF-8 text)", bad});
        return out;
    }
    YAML::Node root;
    try {
        root = YAML::Load(text);
    } catch (const YAML::Exception& e) {
        out.errors.push_back({"", "YAML syntax error: " + e.msg, e.mark.line >= 0 ? e.mark.line + 1 : 0});
        return out;
    }
    if (root.IsDefined() && !root.IsNull()) {
        if (!root.IsMap()) {
            out.errors.push_back({"", "expected a mapping of keys at the top level (version, name, dataset, ...)", lineOf(root)});
            return out;
        }
        try {
            readMap(r, root, "", out.config);
        } catch (const YAML::Exception& e) {
            r.issue("", std::string("YAML error: ") + e.what(), e.mark.line >= 0 ? e.mark.line + 1 : 0);
        }
    }
    out.errors = std::move(r.errors);
    // Semantic checks only on a config whose fields all parsed (else they repeat the same key).
    std::set<std::string> bad;
    for (const auto& e : out.errors)
        bad.insert(e.key);
    auto semantic = validateExperiment(out.config, options, &out.warnings);
    for (auto& i : semantic)
        if (!bad.count(i.key))
            out.errors.push_back(std::move(i));
    fillLines(out.errors, r.lines);
    fillLines(out.warnings, r.lines);
    auto byLine = [](const ConfigIssue& a, const ConfigIssue& b) { return a.line < b.line; };
    std::stable_sort(out.errors.begin(), out.errors.end(), byLine);
    std::stable_sort(out.warnings.begin(), out.warnings.end(), byLine);
    return out;
}

ExperimentCheck checkExperimentFile(const std::string& path, const ValidateOptions& options)
{
    const std::optional<std::string> text = tryReadFile(path);
    if (!text) {
        ExperimentCheck out;
        out.config = defaultExperiment();
        out.errors.push_back({"", "cannot read experiment file '" + path + "'", 0});
        return out;
    }
    return checkExperimentText(*text, fs::absolute(path).parent_path().string(), options);
}

std::string formatIssue(const ConfigIssue& issue, const std::string& file)
{
    std::string s;
    if (!file.empty())
        s += file + ":";
    if (issue.line > 0)
        s += std::to_string(issue.line) + ":";
    if (!s.empty())
        s += " ";
    if (!issue.key.empty())
        s += issue.key + ": ";
    return s + issue.message;
}

static Result<ExperimentConfig> toResult(ExperimentCheck check, const std::string& file)
{
    if (check.ok())
        return std::move(check.config);
    std::vector<std::string> lines;
    for (const auto& e : check.errors)
        lines.push_back(formatIssue(e, file));
    return Error{ErrorCode::InvalidConfig, str::join(lines, "\n"), check.errors.front().key};
}

Result<ExperimentConfig> loadExperiment(const std::string& path, const ValidateOptions& options)
{
    return toResult(checkExperimentFile(path, options), path);
}

Result<ExperimentConfig> loadExperimentText(const std::string& text, const std::string& base_dir, const ValidateOptions& options)
{
    return toResult(checkExperimentText(text, base_dir, options), {});
}

Result<RunRequest> runRequestFromFile(const std::string& path)
{
    const std::optional<std::string> text = tryReadFile(path);
    if (!text)
        return Error{ErrorCode::InvalidConfig, "cannot read experiment file '" + path + "'", path};
    RunRequest r;
    ExperimentCheck check = checkExperimentText(*text, fs::absolute(path).parent_path().string());
    auto config = toResult(std::move(check), path);
    if (!config)
        return config.error();
    r.config = config.value();
    r.experiment_text = *text;
    r.experiment_path = fs::absolute(path).string();
    return r;
}

int effectiveThreads(int experimentThreads, int defaultThreads)
{
    if (const char* env = std::getenv("RECALIGN_THREADS"); env && *env && std::atoi(env) > 0)
        return std::atoi(env);
    if (experimentThreads > 0)
        return experimentThreads;
    if (defaultThreads > 0)
        return defaultThreads;
    return localCoreBudget();
}

std::string toYaml(const ExperimentConfig& config, bool comments)
{
    std::ostringstream out;
    std::vector<std::string> open;  // sections currently open
    for (const auto& d : experiment_detail::fieldTable()) {
        std::vector<std::string> parts = str::split(d.field.key, '.');
        const std::string leaf = parts.back();
        parts.pop_back();
        size_t common = 0;
        while (common < open.size() && common < parts.size() && open[common] == parts[common])
            ++common;
        open.resize(common);
        if (common == 0 && !parts.empty() && out.tellp() > 0)
            out << "\n";
        for (size_t i = common; i < parts.size(); ++i) {
            out << std::string(2 * i, ' ') << parts[i] << ":\n";
            open.push_back(parts[i]);
        }
        out << std::string(2 * parts.size(), ' ') << leaf << ": " << valueYaml(d, d.get(config));
        if (comments)
            out << "  # " << d.field.doc;
        out << "\n";
    }
    return out.str();
}

std::string canonicalJson(const ExperimentConfig& config, const std::vector<std::string>& sections)
{
    nlohmann::json root = nlohmann::json::object();
    for (const auto& d : experiment_detail::fieldTable()) {
        if (!sections.empty() && std::find(sections.begin(), sections.end(), d.field.group) == sections.end())
            continue;
        const FieldValue v = d.get(config);
        auto element = [&](const std::string& s) -> nlohmann::json {
            switch (d.field.type) {
            case ConfigField::Type::Bool: return experiment_detail::parseBoolText(s);
            case ConfigField::Type::Int:
            case ConfigField::Type::IntList: return experiment_detail::parseIntText(s);
            case ConfigField::Type::Double:
            case ConfigField::Type::DoubleList: return experiment_detail::parseDoubleText(s);
            case ConfigField::Type::Path:
                return d.path_kind == PathKind::None ? s : resolvePath(config, s);
            default: return s;
            }
        };
        nlohmann::json value;
        if (v.list) {
            value = nlohmann::json::array();
            for (const auto& s : v.items)
                value.push_back(element(s));
        } else {
            value = element(v.items.empty() ? std::string() : v.items[0]);
        }
        nlohmann::json* node = &root;
        const auto parts = str::split(d.field.key, '.');
        for (size_t i = 0; i + 1 < parts.size(); ++i)
            node = &(*node)[parts[i]];
        (*node)[parts.back()] = std::move(value);
    }
    return root.dump();
}

std::string fieldValueText(const ExperimentConfig& config, const std::string& key)
{
    const FieldDef* d = experiment_detail::findField(key);
    return d ? valueYaml(*d, d->get(config)) : std::string();
}

// ---- YAML scalar text ------------------------------------------------------------------------

namespace experiment_io_detail {

// What YAML reads as a number: [-+]?(.digits|digits[.digits*])([eE][-+]?digits)?
bool looksLikeYamlNumber(const std::string& s)
{
    size_t i = 0;
    auto digits = [&] {
        const size_t from = i;
        while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i])))
            ++i;
        return i > from;
    };
    if (i < s.size() && (s[i] == '-' || s[i] == '+'))
        ++i;
    if (i < s.size() && s[i] == '.') {
        ++i;
        if (!digits())
            return false;
    } else {
        if (!digits())
            return false;
        if (i < s.size() && s[i] == '.') {
            ++i;
            digits();
        }
    }
    if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
        ++i;
        if (i < s.size() && (s[i] == '-' || s[i] == '+'))
            ++i;
        if (!digits())
            return false;
    }
    return i == s.size();
}

}  // namespace experiment_io_detail

std::string yamlUnquote(const std::string& text)
{
    const std::string t = str::trim(text);
    if (t.size() >= 2 && (t[0] == '\'' || t[0] == '"') && t.back() == t[0]) {
        try {
            const YAML::Node n = YAML::Load(t);
            if (n.IsScalar())
                return n.Scalar();
        } catch (const YAML::Exception&) {
        }
        return t.substr(1, t.size() - 2);  // not valid YAML: just the quotes go
    }
    return t;
}

std::string yamlQuoteIfNeeded(const std::string& text)
{
    static const std::string kIndicators = "-?:,[]{}#&*!|>'\"%@`";
    const std::string lower = str::toLower(text);
    bool isBool = false;
    const bool needs = text.empty() || text != str::trim(text) || kIndicators.find(text.front()) != std::string::npos ||
                       text.find(": ") != std::string::npos || text.find(" #") != std::string::npos ||
                       text.find_first_of(",[]\n") != std::string::npos || text.back() == ':' ||
                       yamlParseBool(text, &isBool) || lower == "null" || lower == "~" || looksLikeYamlNumber(text);
    return needs ? yamlQuote(text) : text;
}

std::vector<std::string> yamlParseFlowList(const std::string& text)
{
    std::string t = str::trim(text);
    if (t.size() >= 2 && t.front() == '[' && t.back() == ']')
        t = t.substr(1, t.size() - 2);
    std::vector<std::string> items;
    std::string current;
    char quote = 0;
    bool any = false;
    for (size_t i = 0; i < t.size(); ++i) {
        const char c = t[i];
        if (quote) {
            current += c;
            if (c == '\\' && quote == '"' && i + 1 < t.size())
                current += t[++i];
            else if (c == quote)
                quote = 0;
        } else if (c == '\'' || c == '"') {
            quote = c;
            current += c;
        } else if (c == ',') {
            items.push_back(yamlUnquote(current));
            current.clear();
            any = true;
        } else {
            current += c;
        }
    }
    if (any || !str::trim(current).empty())
        items.push_back(yamlUnquote(current));
    return items;
}

std::string yamlFormatFlowList(const std::vector<std::string>& items, bool quoteStrings)
{
    std::vector<std::string> parts;
    for (const auto& item : items)
        parts.push_back(quoteStrings ? yamlQuoteIfNeeded(item) : item);
    return "[" + str::join(parts, ", ") + "]";
}

std::vector<ConfigIssue> setFieldFromText(ExperimentConfig& config, const std::string& key, const std::string& text)
{
    const FieldDef* d = experiment_detail::findField(key);
    if (!d) {
        const auto near = suggestions(key);
        return {{key, "unknown key" + (near.empty() ? std::string() : "; did you mean '" + near.front() + "'?"), 0}};
    }
    Reader r;
    const bool textual = d->field.type == ConfigField::Type::String || d->field.type == ConfigField::Type::Path;
    try {
        // Text fields take plain text as it is and unquote a quoted YAML string ("\"\"" -> "");
        // other fields read the text as a YAML value ("0.3", "[a, b]").
        const bool quoted = text.size() >= 2 && (text[0] == '"' || text[0] == '\'') && text.back() == text[0];
        YAML::Node n = textual && !quoted ? YAML::Node(text) : YAML::Load(text.empty() ? "\"\"" : text);
        readField(r, *d, n, config);
    } catch (const YAML::Exception& e) {
        r.issue(key, "cannot read '" + text + "': " + e.msg, 0);
    }
    for (auto& i : r.errors)
        i.line = 0;
    return r.errors;
}

}  // namespace recalign::core
