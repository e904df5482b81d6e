// SASRec settings: validation, JSON round trip, CLI option setters and a one-line description.
#include "core/sasrec/sasrec_config.h"

#include "core/api/error.h"
#include "core/util/strings.h"

#include <nlohmann/json.hpp>

#include <cmath>
#include <set>

namespace recalign::core {

namespace sasrec_config_detail {

[[noreturn]] void bad(const std::string& key, const std::string& what)
{
    throw CoreException(ErrorCode::InvalidConfig, "SASRec setting '" + key + "': " + what, key);
}

void requireRange(const std::string& key, double v, double lo, double hi)
{
    if (!(v >= lo && v <= hi) || std::isnan(v))
        bad(key, "expected a value in [" + str::fixed(lo, 6) + ", " + str::fixed(hi, 6) + "], got " + str::fixed(v, 6));
}

long parseLong(const std::string& key, const std::string& v)
{
    try {
        size_t pos = 0;
        const long x = std::stol(v, &pos);
        if (pos == v.size())
            return x;
    } catch (const std::exception&) {
    }
    bad(key, "expected an integer, got '" + v + "'");
}

double parseDouble(const std::string& key, const std::string& v)
{
    try {
        size_t pos = 0;
        const double x = std::stod(v, &pos);
        if (pos == v.size())
            return x;
    } catch (const std::exception&) {
    }
    bad(key, "expected a number, got '" + v + "'");
}

bool parseBool(const std::string& key, const std::string& v)
{
    const std::string t = str::toLower(v);
    if (t == "1" || t == "true" || t == "yes" || t == "on")
        return true;
    if (t == "0" || t == "false" || t == "no" || t == "off")
        return false;
    bad(key, "expected true or false, got '" + v + "'");
}

template <typename T>
void get(const nlohmann::json& j, const char* key, T& out, std::set<std::string>& seen)
{
    seen.insert(key);
    if (!j.contains(key))
        return;
    try {
        out = j.at(key).get<T>();
    } catch (const nlohmann::json::exception& e) {
        bad(key, std::string("wrong JSON type: ") + e.what());
    }
}

void rejectUnknown(const nlohmann::json& j, const std::set<std::string>& seen, const std::string& where)
{
    for (auto it = j.begin(); it != j.end(); ++it)
        if (!seen.count(it.key()))
            bad(it.key(), "unknown key in " + where);
}

// Text names of the choice enums, in enum order.
template <typename E>
const std::vector<const char*>& namesOf();
template <>
const std::vector<const char*>& namesOf<SasRecNorm>()
{
    static const std::vector<const char*> n = {"post", "pre", "qonly"};  // TeacherConfig::LayerNorm order
    return n;
}
template <>
const std::vector<const char*>& namesOf<SasRecLoss>()
{
    static const std::vector<const char*> n = {"ce", "bce"};  // TeacherConfig::Loss order
    return n;
}
template <>
const std::vector<const char*>& namesOf<SasRecActivation>()
{
    static const std::vector<const char*> n = {"relu", "gelu"};
    return n;
}
template <>
const std::vector<const char*>& namesOf<SasRecInit>()
{
    static const std::vector<const char*> n = {"xavier", "normal"};
    return n;
}

// Parses a choice's text name; InvalidConfig naming the key and the valid names otherwise.
template <typename E>
E parseChoice(const std::string& key, const std::string& text)
{
    const auto& names = namesOf<E>();
    std::string valid;
    for (size_t i = 0; i < names.size(); ++i) {
        if (text == names[i])
            return static_cast<E>(i);
        valid += (i == 0 ? "" : i + 1 == names.size() ? " or " : ", ") + std::string(names[i]);
    }
    bad(key, "expected " + valid + ", got '" + text + "'");
}

// A choice read from JSON by name.
template <typename E>
void getChoice(const nlohmann::json& j, const char* key, E& out, std::set<std::string>& seen)
{
    std::string text = choiceName(out);
    get(j, key, text, seen);
    out = parseChoice<E>(key, text);
}

DeviceSpec parseDeviceOption(const std::string& key, const std::string& text)
{
    auto d = parseDevice(text);
    if (!d)
        bad(key, d.error().message);
    return d.value();
}

nlohmann::json modelJson(const SasRecConfig& c)
{
    return nlohmann::json{{"num_items", c.num_items}, {"hidden", c.hidden}, {"blocks", c.blocks},
                           {"heads", c.heads}, {"maxlen", c.maxlen}, {"ffn_hidden", c.ffn_hidden},
                           {"dropout", c.dropout}, {"attn_dropout", c.attn_dropout}, {"norm", choiceName(c.norm)},
                           {"activation", choiceName(c.activation)}, {"scale_embedding", c.scale_embedding},
                           {"layer_norm_eps", c.layer_norm_eps}, {"init", choiceName(c.init)}};
}

SasRecConfig modelFromJson(const nlohmann::json& j)
{
    if (!j.is_object())
        bad("model", "expected a JSON object");
    SasRecConfig c;
    std::set<std::string> seen;
    get(j, "num_items", c.num_items, seen);
    get(j, "hidden", c.hidden, seen);
    get(j, "blocks", c.blocks, seen);
    get(j, "heads", c.heads, seen);
    get(j, "maxlen", c.maxlen, seen);
    get(j, "ffn_hidden", c.ffn_hidden, seen);
    get(j, "dropout", c.dropout, seen);
    get(j, "attn_dropout", c.attn_dropout, seen);
    getChoice(j, "norm", c.norm, seen);
    getChoice(j, "activation", c.activation, seen);
    get(j, "scale_embedding", c.scale_embedding, seen);
    get(j, "layer_norm_eps", c.layer_norm_eps, seen);
    getChoice(j, "init", c.init, seen);
    rejectUnknown(j, seen, "the SASRec model config");
    return c;
}

nlohmann::json parse(const std::string& text)
{
    try {
        return nlohmann::json::parse(text);
    } catch (const nlohmann::json::exception& e) {
        throw CoreException(ErrorCode::InvalidConfig, std::string("SASRec config is not valid JSON: ") + e.what(),
                            "config");
    }
}

}  // namespace sasrec_config_detail

using namespace sasrec_config_detail;

const char* choiceName(SasRecNorm v) { return namesOf<SasRecNorm>().at(static_cast<size_t>(v)); }
const char* choiceName(SasRecLoss v) { return namesOf<SasRecLoss>().at(static_cast<size_t>(v)); }
const char* choiceName(SasRecActivation v) { return namesOf<SasRecActivation>().at(static_cast<size_t>(v)); }
const char* choiceName(SasRecInit v) { return namesOf<SasRecInit>().at(static_cast<size_t>(v)); }

void SasRecConfig::validate() const
{
    if (num_items < 1)
        bad("num_items", "the catalogue is empty (set it from the dataset)");
    requireRange("hidden", hidden, 1, 65536);
    requireRange("blocks", blocks, 0, 64);
    requireRange("heads", heads, 1, 256);
    if (hidden % heads != 0)
        bad("heads", std::to_string(heads) + " heads do not divide hidden " + std::to_string(hidden));
    requireRange("maxlen", maxlen, 1, 100000);
    requireRange("ffn_hidden", ffn_hidden, 0, 1 << 20);
    requireRange("dropout", dropout, 0.0, 0.95);
    if (attn_dropout >= 0)
        requireRange("attn_dropout", attn_dropout, 0.0, 0.95);
    requireRange("layer_norm_eps", layer_norm_eps, 0.0, 1.0);
}

void SasRecTrainConfig::validate() const
{
    model.validate();
    requireRange("negatives", negatives, 1, 100000);
    requireRange("lr", lr, 1e-12, 10.0);
    requireRange("beta1", beta1, 0.0, 0.999999);
    requireRange("beta2", beta2, 0.0, 0.999999999);
    requireRange("adam_eps", adam_eps, 0.0, 1.0);
    requireRange("weight_decay", weight_decay, 0.0, 10.0);
    requireRange("batch_size", batch_size, 1, 1 << 20);
    requireRange("epochs", epochs, 0, 1 << 24);
    requireRange("eval_every", eval_every, 0, 1 << 24);
    requireRange("patience", patience, 0, 1 << 24);
    requireRange("plateau_factor", plateau_factor, 1e-6, 1.0);
    requireRange("plateau_patience", plateau_patience, 0, 1 << 24);
    requireRange("min_lr", min_lr, 0.0, 10.0);
    requireRange("eval_negatives", eval_negatives, 1, 1 << 24);
    requireRange("eval_batch", eval_batch, 1, 1 << 20);
    requireRange("checkpoint_every", checkpoint_every, 0, 1 << 24);
}

SasRecTrainConfig sasRecTrainConfig(const TeacherConfig& t, int64_t numItems, uint64_t seed, DeviceSpec device)
{
    SasRecTrainConfig c;
    c.model.num_items = numItems;
    c.model.hidden = t.hidden;
    c.model.blocks = t.blocks;
    c.model.heads = t.heads;
    c.model.maxlen = t.maxlen;
    c.model.dropout = t.dropout;
    c.model.norm = t.layer_norm;
    if (t.layer_norm == SasRecNorm::Post) {  // RecBole / UniRec, the released teacher
        c.model.activation = SasRecActivation::Gelu;
        c.model.scale_embedding = false;
        c.model.layer_norm_eps = 1e-12;
        c.model.init = SasRecInit::Normal;
        c.model.ffn_hidden = 2 * t.hidden;
    }
    c.loss = t.loss;
    c.lr = t.lr;
    c.batch_size = t.batch;
    c.epochs = t.epochs;
    c.patience = t.patience;
    c.valid_protocol = EvalProtocol::Full;
    c.eval_every = 1;
    c.lr_plateau = t.plateau > 0;
    if (t.plateau > 0)
        c.plateau_factor = t.plateau;
    c.seed = seed;
    c.device = device;
    return c;
}

std::string toJson(const SasRecConfig& c) { return modelJson(c).dump(); }

SasRecConfig sasRecConfigFromJson(const std::string& json) { return modelFromJson(parse(json)); }

std::string toJson(const SasRecTrainConfig& c)
{
    nlohmann::json j{{"model", modelJson(c.model)}, {"loss", choiceName(c.loss)}, {"negatives", c.negatives}, {"lr", c.lr},
                     {"beta1", c.beta1}, {"beta2", c.beta2}, {"adam_eps", c.adam_eps},
                     {"weight_decay", c.weight_decay}, {"batch_size", c.batch_size}, {"epochs", c.epochs},
                     {"eval_every", c.eval_every}, {"valid_protocol", protocolKey(c.valid_protocol)},
                     {"patience", c.patience}, {"restore_best", c.restore_best}, {"lr_plateau", c.lr_plateau},
                     {"plateau_factor", c.plateau_factor}, {"plateau_patience", c.plateau_patience},
                     {"min_lr", c.min_lr}, {"length_buckets", c.length_buckets}, {"seed", c.seed},
                     {"device", c.device.toString()}, {"eval_negatives", c.eval_negatives}, {"eval_batch", c.eval_batch},
                     {"eval_seed", c.eval_seed}, {"checkpoint_path", c.checkpoint_path},
                     {"checkpoint_every", c.checkpoint_every}, {"resume_from", c.resume_from}};
    return j.dump();
}

SasRecTrainConfig sasRecTrainConfigFromJson(const std::string& json)
{
    const nlohmann::json j = parse(json);
    if (!j.is_object())
        bad("config", "expected a JSON object");
    SasRecTrainConfig c;
    std::set<std::string> seen{"model"};
    if (j.contains("model"))
        c.model = modelFromJson(j.at("model"));
    getChoice(j, "loss", c.loss, seen);
    get(j, "negatives", c.negatives, seen);
    get(j, "lr", c.lr, seen);
    get(j, "beta1", c.beta1, seen);
    get(j, "beta2", c.beta2, seen);
    get(j, "adam_eps", c.adam_eps, seen);
    get(j, "weight_decay", c.weight_decay, seen);
    get(j, "batch_size", c.batch_size, seen);
    get(j, "epochs", c.epochs, seen);
    get(j, "eval_every", c.eval_every, seen);
    std::string protocol = protocolKey(c.valid_protocol);
    get(j, "valid_protocol", protocol, seen);
    c.valid_protocol = parseProtocol(protocol);
    get(j, "patience", c.patience, seen);
    get(j, "restore_best", c.restore_best, seen);
    get(j, "lr_plateau", c.lr_plateau, seen);
    get(j, "plateau_factor", c.plateau_factor, seen);
    get(j, "plateau_patience", c.plateau_patience, seen);
    get(j, "min_lr", c.min_lr, seen);
    get(j, "length_buckets", c.length_buckets, seen);
    get(j, "seed", c.seed, seen);
    std::string device = c.device.toString();
    get(j, "device", device, seen);
    c.device = parseDeviceOption("device", device);
    get(j, "eval_negatives", c.eval_negatives, seen);
    get(j, "eval_batch", c.eval_batch, seen);
    get(j, "eval_seed", c.eval_seed, seen);
    get(j, "checkpoint_path", c.checkpoint_path, seen);
    get(j, "checkpoint_every", c.checkpoint_every, seen);
    get(j, "resume_from", c.resume_from, seen);
    rejectUnknown(j, seen, "the SASRec training config");
    return c;
}

const std::vector<std::string>& sasRecOptionKeys()
{
    static const std::vector<std::string> keys = {
        "hidden", "blocks", "heads", "maxlen", "ffn-hidden", "dropout", "attn-dropout", "norm", "activation",
        "scale-embedding", "layer-norm-eps", "init", "loss", "negatives", "lr", "beta1", "beta2", "adam-eps",
        "weight-decay", "batch", "epochs", "eval-every", "valid-protocol", "patience", "plateau-factor",
        "plateau-patience", "min-lr", "seed", "device", "eval-negatives", "eval-batch", "eval-seed",
        "checkpoint", "checkpoint-every", "resume"};
    return keys;
}

const std::vector<std::string>& sasRecFlagKeys()
{
    static const std::vector<std::string> keys = {"lr-plateau", "no-buckets", "no-restore-best"};
    return keys;
}

void setSasRecOption(SasRecTrainConfig& c, const std::string& key, const std::string& value)
{
    auto i = [&] { return static_cast<int>(parseLong(key, value)); };
    auto d = [&] { return parseDouble(key, value); };
    SasRecConfig& m = c.model;
    if (key == "hidden") m.hidden = i();
    else if (key == "blocks") m.blocks = i();
    else if (key == "heads") m.heads = i();
    else if (key == "maxlen") m.maxlen = i();
    else if (key == "ffn-hidden") m.ffn_hidden = i();
    else if (key == "dropout") m.dropout = d();
    else if (key == "attn-dropout") m.attn_dropout = d();
    else if (key == "norm") m.norm = parseChoice<SasRecNorm>(key, value);
    else if (key == "activation") m.activation = parseChoice<SasRecActivation>(key, value);
    else if (key == "scale-embedding") m.scale_embedding = parseBool(key, value);
    else if (key == "layer-norm-eps") m.layer_norm_eps = d();
    else if (key == "init") m.init = parseChoice<SasRecInit>(key, value);
    else if (key == "loss") c.loss = parseChoice<SasRecLoss>(key, value);
    else if (key == "negatives") c.negatives = i();
    else if (key == "lr") c.lr = d();
    else if (key == "beta1") c.beta1 = d();
    else if (key == "beta2") c.beta2 = d();
    else if (key == "adam-eps") c.adam_eps = d();
    else if (key == "weight-decay") c.weight_decay = d();
    else if (key == "batch") c.batch_size = i();
    else if (key == "epochs") c.epochs = i();
    else if (key == "eval-every") c.eval_every = i();
    else if (key == "valid-protocol") c.valid_protocol = parseProtocol(value);
    else if (key == "patience") c.patience = i();
    else if (key == "plateau-factor") c.plateau_factor = d();
    else if (key == "plateau-patience") c.plateau_patience = i();
    else if (key == "min-lr") c.min_lr = d();
    else if (key == "seed") c.seed = static_cast<uint64_t>(parseLong(key, value));
    else if (key == "device") c.device = parseDeviceOption(key, value);
    else if (key == "eval-negatives") c.eval_negatives = i();
    else if (key == "eval-batch") c.eval_batch = i();
    else if (key == "eval-seed") c.eval_seed = static_cast<uint64_t>(parseLong(key, value));
    else if (key == "checkpoint") c.checkpoint_path = value;
    else if (key == "checkpoint-every") c.checkpoint_every = i();
    else if (key == "resume") c.resume_from = value;
    else bad(key, "unknown option");
}

void setSasRecFlag(SasRecTrainConfig& c, const std::string& flag)
{
    if (flag == "lr-plateau") c.lr_plateau = true;
    else if (flag == "no-buckets") c.length_buckets = false;
    else if (flag == "no-restore-best") c.restore_best = false;
    else bad(flag, "unknown flag");
}

std::string describe(const SasRecTrainConfig& c)
{
    const SasRecConfig& m = c.model;
    std::string s = "hidden " + std::to_string(m.hidden) + ", blocks " + std::to_string(m.blocks) + ", heads "
                    + std::to_string(m.heads) + ", maxlen " + std::to_string(m.maxlen) + ", ffn "
                    + std::to_string(m.ffnHidden()) + " " + choiceName(m.activation) + ", dropout " + str::fixed(m.dropout, 2)
                    + " (attention " + str::fixed(m.attnDropout(), 2) + "), norm " + choiceName(m.norm)
                    + (m.scale_embedding ? ", emb×sqrt(d)" : "") + ", init " + choiceName(m.init) + "; loss "
                    + (c.loss == SasRecLoss::Bce ? "bce (" + std::to_string(c.negatives) + " negative"
                                             + (c.negatives > 1 ? "s" : "") + ")"
                                       : std::string("ce (full softmax)"))
                    + ", Adam lr " + str::fixed(c.lr, 5) + " betas (" + str::fixed(c.beta1, 3) + ", "
                    + str::fixed(c.beta2, 3) + ")" + (c.weight_decay > 0 ? " wd " + str::fixed(c.weight_decay, 5) : "")
                    + ", batch " + std::to_string(c.batch_size) + ", epochs " + std::to_string(c.epochs)
                    + ", seed " + std::to_string(c.seed);
    if (c.patience > 0)
        s += ", early stop patience " + std::to_string(c.patience) + " on valid NDCG@10 (" + protocolKey(c.valid_protocol) + ")";
    if (c.lr_plateau)
        s += ", ReduceLROnPlateau ×" + str::fixed(c.plateau_factor, 2);
    return s;
}

}  // namespace recalign::core
