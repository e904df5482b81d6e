// ExperimentConfig: one experiment file (experiments/*.yaml) as plain structs, plus loading,
// validation, YAML and canonical-JSON (de)serialisation. Torch-free, Qt-free, no yaml types.
// Defaults and the meaning of every field live in ONE place, the schema table in
// core/pipeline/experiment_config.cpp; experimentSchema() exposes it (the GUI builds its form
// from it). The structs below carry no defaults of their own: start from defaultExperiment().
#pragma once

#include "core/api/config_schema.h"
#include "core/api/device.h"
#include "core/api/error.h"

#include <string>
#include <vector>

namespace recalign::core {

inline constexpr int kExperimentVersion = 1;  // the `version` this build writes and reads

// The paper's eight rows of the ablation (core/api/tables.h variant_name gives the stored names).
enum class Variant { SasRec, MostPop, ZeroShot, Palr, V1, V2, V3, Full };
// Test tasks (core/api/tables.h task_name).
enum class TestTask { I0, I1Plus, I1Minus, I2Le20, I2Ge30, I2Approx30, ItemCount };

const char* variantName(Variant v);
const char* testTaskName(TestTask t);
bool parseVariant(const std::string& text, Variant* out);
bool parseTestTask(const std::string& text, TestTask* out);

// Choices shared by the experiment file and the trainers (one enum each; the schema names them).
enum class KlEstimator { K1, K2, K3 };       // ppo.kl_estimator: log r | (log r)^2 / 2 | (r - 1) - log r
enum class RewardVariant { Paper, Recai };   // ppo.reward_variant
// ppo.algorithm: the paper's PPO (critic, GAE) or a critic-free one (core/train/ppo_math.h
// criticFreeAdvantages gives each one's advantages).
enum class RlAlgorithm { Ppo, Grpo, Rloo, ReinforcePp };
// ppo.kl_in: where the KL to the SFT policy enters: auto (grpo: loss; others: reward), the
// per-token reward penalty of eq. 6, or a k3 term of the loss (as GRPO does).
enum class KlPlacement { Auto, Reward, Loss };
const char* rlAlgorithmName(RlAlgorithm a);

// A row of the ablation as a recipe read from its name, so that new rows need no code:
//     BASE[_ALG][+cd]
//   BASE  sasrec | mostpop (recommenders) | zeroshot (the base LLM) | palr | v1 | v2 (SFT data:
//         real next items, I0, I0-I4) | v3 | full (v2 + RL on the list reward / item + list
//         rewards) | dpo | sdpo (v2 + offline preference optimisation, one or dpo.negatives
//         rejected lists)
//   _ALG  (v3, full) the RL algorithm: ppo | grpo | drgrpo (Dr. GRPO) | rloo | rpp
//         (REINFORCE++); without it ppo.algorithm decides
//   +cd   (LLM rows) per-row constrained decoding at evaluation: titles from the catalogue, new to
//         the list and the user's history, exactly k of them
// e.g. full_grpo, v3_rloo, full+cd, v2+cd, full_rpp+cd. The paper's eight are the plain BASEs.
struct VariantRecipe {
    enum class Kind { Recommender, ZeroShot, Sft };
    enum class Align { None, Rl, Dpo, Sdpo };
    std::string name;              // as written (the stored variant name)
    Kind kind = Kind::Sft;
    std::string sft;               // SFT data: palr | v1 | v2 ("" for recommenders and zeroshot)
    Align align = Align::None;
    bool algorithm_set = false;    // _ALG given; else ppo.algorithm applies
    RlAlgorithm algorithm = RlAlgorithm::Ppo;
    bool dr_grpo = false;
    bool item_reward = true;       // v3: the list-level reward only
    bool constrained = false;      // +cd
    // The name of the trained part (the name without "+cd"): rows that differ only in decoding
    // share their training stages.
    std::string trainedName() const;
};
// Parses a variant name; false with a message naming the part that is wrong and the choices.
bool parseVariantRecipe(const std::string& name, VariantRecipe* out, std::string* error = nullptr);

// dataset.synthetic: the synthetic generator's options (core/data/synthetic.h uses this struct).
struct SyntheticDataConfig {
    int seed = 0;
    int items = 0;
    int users = 0;
    int top_categories = 0;
    int subcategories_per_top = 0;
    int min_sequence_length = 0;
    int max_sequence_length = 0;
    double preference_concentration = 0.0;
    int favourite_categories = 0;
    double sequential_strength = 0.0;
    double popularity_skew = 0.0;
    double franchise_share = 0.0;
    double subcategory_prob = 0.0;
    double secondary_category_prob = 0.0;
    int successors = 0;
};

// The importers' options (core/data's DatasetSpec adds only the cache folder).
// dataset.recbole: which fields of RecBole's atomic files hold what ("" = the first present of
// the common datasets' names).
struct RecBoleFieldsConfig {
    std::string title_field;     // "" = movie_title, title, name, app_name, item_name
    std::string year_field;      // "" = release_year, year; appended to the title as " (YEAR)" (MovieLens style)
    std::string category_field;  // "" = class, genre, genres, categories, category, tags
    std::string seq_separator;   // between the tokens of a token_seq field; "" = white space (RecBole's " ")
};

struct DatasetConfig {
    enum class Source { MovieLens, Amazon, Steam, Native, Synthetic, RecBole };
    enum class Uncategorized { Drop, Other };
    Source source = Source::Synthetic;
    std::string path;             // as written; resolve with resolvePath()
    double min_rating = 0.0;      // 0 keeps every rating
    int user_core = -1;           // -1 = the source's default; 0 = no k-core filter
    int item_core = -1;
    bool lenient = false;
    bool steam_tags_as_categories = false;
    std::string interactions_file;  // "" = detected; relative to path
    std::string items_file;
    Uncategorized uncategorized = Uncategorized::Drop;
    int max_users = 0;            // 0 = all
    int max_history = 0;
    SyntheticDataConfig synthetic;
    RecBoleFieldsConfig recbole;
};

struct TeacherConfig {
    enum class LayerNorm { Post, Pre, QOnly };
    enum class Loss { Ce, Bce };
    int hidden = 0;
    int blocks = 0;
    int heads = 0;
    int maxlen = 0;
    double dropout = 0.0;
    LayerNorm layer_norm = LayerNorm::Post;
    Loss loss = Loss::Ce;
    double lr = 0.0;
    int batch = 0;
    int epochs = 0;
    int patience = 0;
    double plateau = 0.0;
    int seed = 0;       // -1 = the run's seed (one teacher per seed); else shared by a seed group
};

struct ModelConfig {
    enum class Source { FromScratch, Llama2c, Hf };
    enum class ChatTemplate { Llama2, Compact };
    enum class DType { Float32, BFloat16, Float16 };
    Source source = Source::FromScratch;
    std::string path;
    ChatTemplate chat_template = ChatTemplate::Llama2;
    DType dtype = DType::Float32;
    // The dtype of the matrix products (llm::LinearSettings): float32, bfloat16 (float32 weights,
    // reductions, log-probs and losses) or auto, resolved per device when a run starts
    // (llm::resolveComputeDtype); the resolved value is what runs record and stage keys hash.
    enum class ComputeDType { Float32, BFloat16, Auto };
    ComputeDType compute_dtype = ComputeDType::Float32;
    // Architecture (from_scratch only; llama2c / hf read theirs from the file).
    int dim = 0;
    int n_layers = 0;
    int n_heads = 0;
    int n_kv_heads = 0;
    int hidden_dim = 0;     // 0 = Llama's rule from dim
    int max_seq_len = 0;
    int vocab_size = 0;     // 0 = the tokenizer's
    double norm_eps = 0.0;
    double rope_theta = 0.0;
    // Language-model pre-training of a from-scratch model (on titles and prompts).
    struct Pretrain {
        int epochs = 0;
        double lr = 0.0;
        int batch = 0;
        int history_lists = 0;  // "History: ... 1. T" documents from users' sequences; 0 = one per user
        int seed = 0;           // -1 = the run's seed (one base model per seed); else shared by a seed group
    } pretrain;
};

struct TokenizerConfig {
    enum class ModelType { Bpe, Unigram };
    std::string path;       // "" = hf: the model folder's tokenizer.model; from_scratch: trained
    int vocab_size = 0;     // training only
    ModelType model_type = ModelType::Bpe;
};

struct LoraConfig {
    enum class Init { Orthogonal, Kaiming };
    int r = 0;
    double alpha = 0.0;
    double dropout = 0.0;
    std::vector<std::string> targets;  // q k v o gate up down lm_head
    Init init = Init::Orthogonal;
};

struct SftConfig {
    enum class Selection { Ndcg, Hr, Last };
    LoraConfig lora;
    bool full_finetune = false;
    bool gradient_checkpointing = false;  // recompute each decoder layer in the backward pass
    std::string init_adapter;             // a PEFT adapter folder LoRA training starts from ("" = fresh)
    double lr = 0.0;
    double weight_decay = 0.0;
    double warmup_ratio = 0.0;
    double lr_power = 0.0;
    double end_lr = 0.0;
    double grad_clip = 0.0;
    int grad_accum = 0;
    int batch = 0;
    int epochs = 0;
    int max_prompt_tokens = 0;
    int max_output_tokens = 0;
    double share_chat_ratio = 0.0;
    std::string sharegpt_path;         // I4 from this file; "" = see builtin_conversations
    bool builtin_conversations = false;  // no sharegpt_path: I4 from built-in catalogue chats (else skipped)
    int val_users_per_task = 0;
    Selection selection_metric = Selection::Ndcg;
};

struct PpoConfig {
    enum class Selection { ListReward, Last };
    RlAlgorithm algorithm = RlAlgorithm::Ppo;
    bool dr_grpo = false;        // grpo: no division by the group's std nor by each response's length
    KlPlacement kl_in = KlPlacement::Auto;
    LoraConfig actor_lora;
    LoraConfig critic_lora;
    bool gradient_checkpointing = false;  // recompute each decoder layer in the learning passes' backward
    std::string init_adapter;             // a PEFT adapter folder the actor starts from ("" = fresh)
    double lr = 0.0;
    int episodes = 0;
    int prompts_per_batch = 0;
    int samples_per_prompt = 0;
    double temperature = 0.0;
    int top_k = 0;
    double top_p = 0.0;
    double kl_coef = 0.0;
    KlEstimator kl_estimator = KlEstimator::K1;
    bool adaptive_kl = false;
    double target_kl = 0.0;
    int horizon = 0;
    bool whiten_rewards = false;
    bool whiten_advantages = false;
    double gamma = 0.0;
    double lam = 0.0;
    double clip_eps = 0.0;
    double value_clip = 0.0;
    double vf_coef = 0.0;
    double ent_coef = 0.0;
    int ppo_epochs = 0;
    int grad_accum = 0;
    double policy_kl_threshold = 0.0;
    double grad_clip = 0.0;
    int warmup_steps = 0;
    bool constrained_decoding = false;
    RewardVariant reward_variant = RewardVariant::Paper;
    double reward_alpha = 0.0;
    bool rerender_actions = false;
    bool lm_head_trainable = false;
    bool train_value_head = false;
    int max_iterations = 0;     // 0 = episodes x batches
    int val_every = 0;
    int val_users_per_task = 0;
    Selection selection_metric = Selection::ListReward;
};

// dpo / sdpo rows: offline preference optimisation from the v2 SFT model (core/train/dpo_trainer.h).
// The adapter trained is ppo.actor_lora's; the lists are sampled with ppo.temperature / top_k.
struct DpoConfig {
    double beta = 0.0;
    int negatives = 0;           // sdpo: rejected lists per chosen one (dpo: always 1)
    int samples_per_prompt = 0;  // lists sampled per prompt to rank
    int max_prompts = 0;         // 0 = every RL prompt of one episode
    double lr = 0.0;
    int epochs = 0;
    int grad_accum = 0;          // preference groups per optimiser step
    int warmup_steps = 0;
};

struct EvaluationConfig {
    std::vector<TestTask> tasks;
    int topk = 0;
    int users = 0;              // 0 = every user with a test target
    bool fuzzy_mapping = false;
    int fuzzy_distance = 0;
    int batch = 0;
    std::string mmlu_path;
    std::string gsm8k_path;
    int mmlu_k_shot = 0;
    int gsm8k_k_shot = 0;
    int general_limit = 0;      // 0 = every question
    int gsm8k_max_new_tokens = 0;  // GSM8K greedy generation length
};

// distributed: how the ranks of a data-parallel job talk (core/dist). Where the ranks come from is
// the launcher's business (torchrun, srun, recalign run --nproc); a single process ignores this.
struct DistributedConfig {
    enum class Backend { Auto, Gloo, Nccl };
    Backend backend = Backend::Auto;
    double timeout_s = 0.0;  // a collective, or a wait on rank 0, gives up after this
};

struct ExperimentConfig {
    int version = kExperimentVersion;
    std::string name;
    std::string description;
    std::string workspace;      // "" = the CLI's --workspace (default ./workspace)
    std::vector<int> seeds;
    DeviceSpec device;
    int threads = 0;
    std::vector<std::string> variants;  // recipe names (VariantRecipe), in the order written
    DatasetConfig dataset;
    TeacherConfig teacher;
    ModelConfig model;
    TokenizerConfig tokenizer;
    SftConfig sft;
    PpoConfig ppo;
    DpoConfig dpo;
    EvaluationConfig evaluation;
    DistributedConfig distributed;

    // Folder that relative paths are resolved against (the YAML file's folder; "" = cwd).
    // Not part of the file.
    std::string base_dir;
};

// Every field with type, default, range, choices, doc and group, in file order.
const std::vector<ConfigField>& experimentSchema();

// The configuration a file with no keys produces.
ExperimentConfig defaultExperiment();

// How validation treats paths that do not exist (external data, model weights).
enum class FileCheck { Error, Warning, Skip };
struct ValidateOptions {
    FileCheck missing_files = FileCheck::Error;
};

// The outcome of reading and checking an experiment file. `errors` and `warnings` name the
// dotted key and, when read from YAML, the 1-based line.
struct ExperimentCheck {
    ExperimentConfig config;
    std::vector<ConfigIssue> errors;
    std::vector<ConfigIssue> warnings;
    bool ok() const { return errors.empty(); }
};

// Reads and validates; never throws. `base_dir` is where relative paths start.
ExperimentCheck checkExperimentText(const std::string& text, const std::string& base_dir,
                                    const ValidateOptions& options = {});
ExperimentCheck checkExperimentFile(const std::string& path, const ValidateOptions& options = {});

// The same, as a Result: an InvalidConfig error whose message lists every issue (one per line,
// "key (line N): message"). Missing files are errors unless the options say otherwise.
Result<ExperimentConfig> loadExperiment(const std::string& path, const ValidateOptions& options = {});
Result<ExperimentConfig> loadExperimentText(const std::string& text, const std::string& base_dir,
                                            const ValidateOptions& options = {});

// Semantic checks of a config (ranges, list elements, cross-field rules, required and missing
// paths). Issues carry line 0. Missing-file warnings go to `warnings` when given.
std::vector<ConfigIssue> validateExperiment(const ExperimentConfig& config,
                                            const ValidateOptions& options = {},
                                            std::vector<ConfigIssue>* warnings = nullptr);

// Every field, nested by section, in schema order; loading the text gives back an equal config.
// `comments` adds each field's doc as a trailing comment.
std::string toYaml(const ExperimentConfig& config, bool comments = false);

// Sorted-key compact JSON of the config with paths resolved to absolute ones (for content
// hashes and the store). `sections` limits it to those top-level groups (e.g. {"dataset"}).
std::string canonicalJson(const ExperimentConfig& config, const std::vector<std::string>& sections = {});

// `path` made absolute against config.base_dir ("" stays ""; absolute paths are unchanged).
std::string resolvePath(const ExperimentConfig& config, const std::string& path);
// Rewrites relative paths so they name the same files from `new_base_dir` and sets base_dir
// (the GUI's "Save as" into another folder).
void rebasePaths(ExperimentConfig& config, const std::string& new_base_dir);

// The value of one field as YAML scalar text (lists as "[a, b]"); "" when the key is unknown.
std::string fieldValueText(const ExperimentConfig& config, const std::string& key);
// Sets one field from the text fieldValueText() writes: YAML scalars ("0.3", "true", "k3"),
// lists as flow sequences ("[a, b]"); String / Path fields take plain text literally and unquote
// a quoted YAML string ("\"\"" -> ""). An issue when the key is unknown or the text does not fit
// the field's type / choices (the field is then unchanged). Used by the GUI form.
std::vector<ConfigIssue> setFieldFromText(ExperimentConfig& config, const std::string& key,
                                          const std::string& text);

// ---- YAML scalar text: the dialect of fieldValueText() / setFieldFromText(), for editors ----
// A double as the shortest text that reads back to the same value ("0.5", "1e-05").
std::string yamlFormatNumber(double value);
// true/yes/on and false/no/off in any case, quoted or not; false when `text` is not a boolean.
bool yamlParseBool(const std::string& text, bool* value);
// Removes one level of YAML quoting ('it''s', "a\n" with YAML's escapes); other text is trimmed.
std::string yamlUnquote(const std::string& text);
// Quotes `text` (double quotes, escaped) when YAML would not read it back verbatim as a plain
// string: empty, leading or trailing space, ": ", " #", ',', '[', ']', a newline, a leading
// indicator, a trailing ':', or text that reads as a bool, null or number.
std::string yamlQuoteIfNeeded(const std::string& text);
// "[a, 'b, c', 3]" or "a, b" -> the items, unquoted. "" and "[]" -> none.
std::vector<std::string> yamlParseFlowList(const std::string& text);
// items -> "[a, \"b, c\", 3]"; with quoteStrings each item goes through yamlQuoteIfNeeded.
std::string yamlFormatFlowList(const std::vector<std::string>& items, bool quoteStrings = true);

// "file:line: key: message" (parts omitted when unknown).
std::string formatIssue(const ConfigIssue& issue, const std::string& file = {});

// The variants and evaluation tasks in table order (for menus).
std::vector<Variant> allVariants();
std::vector<TestTask> allTestTasks();

}  // namespace recalign::core
