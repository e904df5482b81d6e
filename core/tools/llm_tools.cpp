// `recalign generate`, `recalign pretrain`, `recalign general` and `recalign bench llm` (core/api/llm_tools.h), moved
// from app/cli. generate: loads any supported checkpoint (llama2.c .bin, Hugging Face folder, our
// own folder) and prints the prompt and its continuation, like llama2.c's `run` and llama.cpp's
// CLI. pretrain: trains a tokenizer and a small Llama from scratch on a text corpus and saves
// both as a recalign checkpoint folder. bench llm: greedy generation tokens/s at batch 1 and 32
// (KV cache; fused CPU path, optionally the generic torch path), forward+backward tokens/s and
// achieved GFLOP/s for the quickstart model size and a dim-256 model. general: MMLU / GSM8K of
// any model through the pipeline's evaluators (core/pipeline/general_eval.h).
#include "core/api/llm_tools.h"

#include "core/api/info.h"
#include "core/llm/chat_template.h"
#include "core/llm/generation.h"
#include "core/llm/loaders.h"
#include "core/llm/pretrain.h"
#include "core/pipeline/general_eval.h"
#include "core/runtime/runtime.h"
#include "core/runtime/state_file.h"
#include "core/util/files.h"
#include "core/util/json_text.h"
#include "core/util/strings.h"

#include <c10/core/InferenceMode.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <limits>

namespace recalign::core {

namespace {

using str::fixed;

// ---- generate -----------------------------------------------------------------------------------

torch::Dtype parseDtype(const std::string& s)
{
    if (s == "float32" || s == "fp32" || s == "f32")
        return torch::kFloat;
    if (s == "bfloat16" || s == "bf16")
        return torch::kBFloat16;
    if (s == "float16" || s == "fp16" || s == "f16")
        return torch::kHalf;
    throw std::invalid_argument("--dtype '" + s + "': expected float32, bfloat16 or float16");
}

int generateText(const GenerateRequest& request, std::ostream& out, std::ostream& err)
{
    using namespace llm;
    const torch::Device device = resolveDevice(request.device);
    const torch::Dtype dtype = parseDtype(request.dtype);
    LoadedModel lm = loadAnyModel(request.model, request.tokenizer, dtype);
    if (!lm.tokenizer.isLoaded())
        throw CoreException(ErrorCode::InvalidConfig,
                            "no tokenizer: pass --tokenizer PATH (a sentencepiece .model file)", "tokenizer");
    lm.model->to(device);
    if (request.adapter) {
        importPeftAdapter(*lm.model, *request.adapter, "cli");
        lm.model->setActiveAdapter("cli");
    }
    const Tokenizer& tok = lm.tokenizer;

    std::vector<int32_t> prompt;
    const std::string& text = request.prompt;
    if (request.chat) {
        Conversation c;
        c.system = request.system;
        c.turns.push_back({text, ""});
        prompt = encodeChatPrompt(tok, c, parseChatTemplate(*request.chat));
    } else {
        prompt.push_back(tok.bosId());
        if (!text.empty()) {
            const auto ids = tok.encode(text);
            prompt.insert(prompt.end(), ids.begin(), ids.end());
        }
    }

    GenerationConfig g;
    g.max_new_tokens = static_cast<int>(request.max_new_tokens);
    if (request.steps) {
        const long steps = *request.steps;
        g.max_new_tokens = static_cast<int>(steps - static_cast<long>(prompt.size()) + 1);
        if (g.max_new_tokens < 1)
            throw std::invalid_argument("--steps " + std::to_string(steps) + " leaves no room after the prompt");
    }
    g.min_new_tokens = static_cast<int>(request.min_new_tokens);
    g.temperature = request.temperature;
    g.top_k = static_cast<int>(request.top_k);
    g.top_p = request.top_p;
    g.repetition_penalty = request.repetition_penalty;
    g.seed = request.seed;
    g.fast_path = request.fast_path;
    g.stop_token_ids = {tok.eosId()};
    if (lm.format == CheckpointFormat::Llama2c)
        g.stop_token_ids.push_back(tok.bosId());
    const long num = request.num;
    if (num < 1)
        throw std::invalid_argument("--num must be >= 1");

    const GenerationResult r = generate(*lm.model, std::vector<std::vector<int32_t>>(static_cast<size_t>(num), prompt), g, &tok);
    long total = 0;
    for (size_t i = 0; i < r.tokens.size(); ++i) {
        std::vector<int32_t> ids(prompt.begin() + (request.chat ? static_cast<long>(prompt.size()) : 1), prompt.end());
        std::vector<int32_t> generated = r.tokens[i];
        if (r.finish[i] == FinishReason::StopToken && !generated.empty())
            generated.pop_back();
        total += static_cast<long>(r.tokens[i].size());
        ids.insert(ids.end(), generated.begin(), generated.end());
        if (num > 1)
            out << "--- sample " << i + 1 << "\n";
        out << tok.decode(ids) << "\n";
    }
    out.flush();
    const double secs = r.prefill_seconds + r.decode_seconds;
    err << "achieved tok/s: " << fixed(secs > 0 ? static_cast<double>(total) / secs : 0.0, 1) << " ("
        << total << " tokens, " << fixed(secs, 3) << " s, " << checkpointFormatName(lm.format)
        << ", " << (g.fast_path ? "fast path" : "generic path") << ")\n";
    return 0;
}

// ---- pretrain -----------------------------------------------------------------------------------

class PretrainPrintObserver : public Observer {
public:
    explicit PretrainPrintObserver(std::ostream& out) : m_out(out) {}
    void onStep(const StepRecord& r) override
    {
        m_out << "  step " << r.step << "/" << r.total_steps;
        for (const auto& [k, v] : r.metrics)
            m_out << "  " << k << " " << fixed(v, k == "learning_rate" ? 6 : 4);
        m_out << std::endl;
    }

private:
    std::ostream& m_out;
};

int pretrain(const PretrainRequest& request, std::ostream& out)
{
    using namespace llm;
    std::ifstream in(request.corpus);
    if (!in)
        throw CoreException(ErrorCode::DataLoad, "cannot read corpus '" + request.corpus + "'");
    std::vector<std::string> docs;
    for (std::string line; std::getline(in, line);)
        if (!str::trim(line).empty())
            docs.push_back(line);
    const std::string& dir = request.out;
    std::filesystem::create_directories(dir);
    const ChatTemplate chat = parseChatTemplate(request.chat);
    out << "training tokenizer on " << docs.size() << " documents" << std::endl;
    const Tokenizer tok = trainTokenizerOnCorpus(docs, dir + "/tokenizer",
                                                 llamaTokenizerOptions(request.vocab_size, chatTemplateSymbols(chat)));
    PretrainOptions o;
    o.model = fromScratchLlamaConfig(request.model);
    o.seq_len = request.seq;
    o.batch_size = request.batch;
    o.steps = request.steps;
    o.epochs = request.epochs;
    o.lr = request.lr;
    o.min_lr = request.min_lr.value_or(o.lr / 10);
    o.warmup_steps = request.warmup;
    o.schedule = request.schedule;
    o.weight_decay = request.weight_decay;
    o.seed = request.seed;
    o.device = request.device;
    PretrainPrintObserver obs(out);
    PretrainResult r = pretrainModel(tok, docs, o, &obs);
    r.model->to(torch::kCPU);
    saveCheckpoint(*r.model, dir, &tok);
    std::filesystem::remove(dir + "/tokenizer.vocab");
    out << "saved " << dir << " (" << r.steps << " steps, " << r.corpus_tokens << " corpus tokens, final loss "
        << fixed(r.final_loss, 4) << ", " << fixed(r.tokens_per_second, 0) << " tokens/s)" << std::endl;
    return 0;
}

// ---- bench llm ----------------------------------------------------------------------------------

double processCpuSeconds()
{
    timespec ts{};
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

double median(std::vector<double> v)
{
    std::sort(v.begin(), v.end());
    return v.empty() ? 0.0 : v[v.size() / 2];
}

void benchGeneration(llm::LlamaModelImpl& model, const std::vector<int>& batches, int newTokens, int repeats,
                     bool fast, std::ostream& out)
{
    using namespace llm;
    for (int B : batches) {
        GenerationConfig g;
        g.max_new_tokens = newTokens;
        g.temperature = 0.0;
        g.stop_token_ids = {-1};  // never stop early: every row generates N tokens
        g.fast_path = fast;
        std::vector<double> rates, cpuRates;
        generate(model, std::vector<std::vector<int32_t>>(static_cast<size_t>(B), {1}), g);  // warm-up
        for (int r = 0; r < repeats; ++r) {
            const double cpu0 = processCpuSeconds();
            const GenerationResult res = generate(model, std::vector<std::vector<int32_t>>(static_cast<size_t>(B), {1}), g);
            const double cpu = processCpuSeconds() - cpu0;
            long tokens = 0;
            for (const auto& t : res.tokens)
                tokens += static_cast<long>(t.size());
            rates.push_back(static_cast<double>(tokens) / (res.prefill_seconds + res.decode_seconds));
            cpuRates.push_back(static_cast<double>(tokens) / cpu);
        }
        out << "  " << (fast ? "fused  " : "generic") << " batch " << B << (B < 10 ? " " : "") << ": "
            << fixed(median(rates), 0) << " tokens/s aggregate (" << fixed(median(rates) / B, 0)
            << " per row; min " << fixed(*std::min_element(rates.begin(), rates.end()), 0) << ", max "
            << fixed(*std::max_element(rates.begin(), rates.end()), 0) << "; "
            << fixed(median(cpuRates), 0) << " per CPU-second)" << std::endl;
    }
}

void benchTraining(const llm::LlamaConfig& c, int seq, int batch, int steps, const std::string& device, std::ostream& out)
{
    const std::vector<double> secs = llm::timeTrainingSteps(c, seq, batch, steps, device);
    const double t = median(secs);
    const double tokensPerStep = static_cast<double>(batch) * seq;
    const double flops = llm::trainingFlopsPerToken(c, seq) * tokensPerStep;
    out << "  dim " << c.dim << ", " << c.n_layers << " layers, " << c.n_heads << " heads, vocab " << c.vocab_size
        << " (" << fixed(static_cast<double>(c.parameterCount()) / 1e6, 2) << " M params), batch " << batch
        << " x seq " << seq << ": " << fixed(tokensPerStep / t, 0) << " tokens/s forward+backward, "
        << fixed(flops / t / 1e9, 2) << " GFLOP/s (" << fixed(t * 1000, 1) << " ms/step, median of " << steps
        << ")" << std::endl;
}

int benchLlm(const BenchLlmRequest& request, std::ostream& out)
{
    using namespace llm;
    const std::string& model = request.model;
    const int newTokens = request.new_tokens;
    const int repeats = request.repeats;
    const std::vector<int>& batches = request.batches;

    const std::string& device = request.device;
    const auto dev = resolveDevice(device);
    LoadedModel lm = loadAnyModel(model);
    lm.model->to(dev);
    out << "recalign bench llm: " << model << " (" << checkpointFormatName(lm.format) << ", dim "
        << lm.model->config().dim << ", " << lm.model->config().n_layers << " layers), device " << dev.str()
        << ", intra-op threads " << systemInfo().intra_op_threads << "\n";
    out << "generation, greedy, " << newTokens << " new tokens from BOS, KV cache:" << std::endl;
    if (dev.is_cpu())
        benchGeneration(*lm.model, batches, newTokens, repeats, true, out);
    if (request.generic || !dev.is_cpu())
        benchGeneration(*lm.model, batches, newTokens, repeats, false, out);
    if (request.train) {
        out << "training step (forward+backward):" << std::endl;
        const int seq = request.train_seq;
        const int batch = request.train_batch;
        const int steps = request.train_steps;
        LlamaConfig quick;
        quick.dim = 64;
        quick.hidden_dim = llamaHiddenDim(64);
        quick.n_layers = 4;
        quick.n_heads = 4;
        quick.n_kv_heads = 4;
        quick.vocab_size = 512;
        quick.max_seq_len = 512;
        benchTraining(quick, seq, batch, steps, device, out);
        LlamaConfig big = quick;
        big.dim = 256;
        big.hidden_dim = llamaHiddenDim(256);
        big.n_heads = 8;
        big.n_kv_heads = 8;
        benchTraining(big, seq, batch, steps, device, out);
    }
    return 0;
}

// ---- general ability ------------------------------------------------------------------------

std::string percent(double v) { return str::fixed(100.0 * v, 2); }

int general(const GeneralRequest& r, std::ostream& out)
{
    if (r.mmlu.empty() && r.gsm8k.empty())
        throw std::invalid_argument("give --mmlu PATH and/or --gsm8k PATH");
    llm::LoadedModel lm = llm::loadAnyModel(r.model, r.tokenizer, parseDtype(r.dtype));
    if (!lm.tokenizer.isLoaded())
        throw CoreException(ErrorCode::InvalidConfig, "no tokenizer: pass --tokenizer PATH (a sentencepiece .model file)",
                            "tokenizer");
    lm.model->to(resolveDevice(r.device));
    if (r.adapter) {
        llm::importPeftAdapter(*lm.model, *r.adapter, "cli");
        lm.model->setActiveAdapter("cli");
    }
    GeneralEvalOptions o;
    o.eval.mmlu_k_shot = r.mmlu_k_shot.value_or(o.eval.mmlu_k_shot);
    o.eval.gsm8k_k_shot = r.gsm8k_k_shot.value_or(o.eval.gsm8k_k_shot);
    o.eval.general_limit = r.limit.value_or(o.eval.general_limit);
    o.eval.batch = r.batch.value_or(o.eval.batch);
    o.eval.gsm8k_max_new_tokens = r.gsm8k_max_new_tokens.value_or(o.eval.gsm8k_max_new_tokens);
    o.samples_kept = r.samples.empty() ? 0 : std::numeric_limits<long>::max();
    GeneralSuite suite;
    if (!r.mmlu.empty())
        suite.mmlu = loadMmluSubjects(r.mmlu, o.eval.mmlu_k_shot);
    if (!r.gsm8k.empty())
        suite.gsm8k = loadGsm8k(r.gsm8k);
    out << "model: " << r.model << " (" << lm.model->config().parameterCount() << " parameters, context "
        << lm.model->config().max_seq_len << " tokens)\n";
    Observer quiet;
    const GeneralEvalResult res = evaluateGeneralAbility("model", *lm.model, lm.tokenizer, suite, o, quiet);
    if (!r.samples.empty()) {
        // One line per scored question: the prompt as read, the answer, the details the inspector
        // shows (MMLU: per-choice log-likelihoods, prompt and letter token ids; GSM8K: the number).
        std::string lines;
        for (const SampleRecord& s : res.samples)
            lines += jsonText({{"task", s.task},
                               {"index", s.step},
                               {"prompt", s.prompt},
                               {"output", s.output},
                               {"details", nlohmann::json::parse(s.details_json)}}) + "\n";
        writeFileAtomic(r.samples, lines, ErrorCode::CheckpointIO);
        out << res.samples.size() << " samples written to " << r.samples << "\n";
    }
    for (const auto& rec : res.records) {
        if (rec.metric == "prompts_truncated") {
            out << "  " << rec.task << ": " << static_cast<long>(rec.value) << " of " << rec.n
                << " prompts shortened to fit the context (fewer examples than k, the earliest dropped first, or cut)\n";
            continue;
        }
        const bool macro = rec.task == "mmlu" && suite.mmlu.size() > 1;
        out << rec.task << (macro ? " (macro average of " + std::to_string(suite.mmlu.size()) + " subjects)" : std::string())
            << ": accuracy " << percent(rec.value) << " % ± " << percent(rec.std_error) << " (n " << rec.n << ", "
            << (rec.task.rfind("gsm8k", 0) == 0 ? o.eval.gsm8k_k_shot : o.eval.mmlu_k_shot) << "-shot)\n";
    }
    return 0;
}

}  // namespace

ToolStatus runGeneral(const GeneralRequest& request, std::ostream& out)
{
    return catchTool([&] { return general(request, out); });
}

ToolStatus runGenerate(const GenerateRequest& request, std::ostream& out, std::ostream& err)
{
    return catchTool([&] { return generateText(request, out, err); });
}

ToolStatus runLogits(const LogitsRequest& request, std::ostream& out)
{
    return catchTool([&] {
        if (request.tokens.empty())
            throw std::invalid_argument("--tokens: at least one token id");
        llm::LoadedModel lm = llm::loadAnyModel(request.model, {}, parseDtype(request.dtype));
        const int64_t V = lm.model->config().vocab_size;
        for (int64_t t : request.tokens)
            if (t < 0 || t >= V)
                throw std::invalid_argument("--tokens: id " + std::to_string(t) + " outside the vocabulary (0.."
                                            + std::to_string(V - 1) + ")");
        if (request.adapter) {
            llm::importPeftAdapter(*lm.model, *request.adapter, "cli");
            lm.model->setActiveAdapter("cli");
            if (!request.export_adapter.empty())
                llm::exportPeftAdapter(*lm.model, "cli", request.export_adapter);
        } else if (!request.export_adapter.empty()) {
            throw std::invalid_argument("--export-adapter needs --adapter");
        }
        c10::InferenceMode inference;
        const torch::Tensor logits =
            lm.model->forward(torch::tensor(request.tokens, torch::kLong).unsqueeze(0)).logits[0].contiguous();
        nlohmann::json rows = nlohmann::json::array();
        const float* p = logits.data_ptr<float>();
        for (int64_t i = 0; i < logits.size(0); ++i)
            rows.push_back(std::vector<float>(p + i * V, p + (i + 1) * V));
        out << nlohmann::json{{"vocab", V}, {"logits", rows}}.dump() << "\n";
        return 0;
    });
}

ToolStatus runRandomModel(const RandomModelRequest& request, std::ostream& out)
{
    return catchTool([&] {
        const llm::LlamaConfig c = llm::namedGeometry(request.shape);
        const torch::Dtype td = parseDtype(request.dtype);
        const StDtype st = stDtypeFor(td);
        if (request.out.empty())
            throw std::invalid_argument("--out: the folder to write");
        llm::writeRandomHfModel(c, request.out, st, request.shard_mib << 20, request.tokenizer, request.seed,
                                [&](int64_t done, int64_t total) {
                                    out << "  " << (done >> 20) << " / " << (total >> 20) << " MiB" << std::endl;
                                });
        out << request.shape << " (" << str::fixed(c.parameterCount() / 1e9, 2) << " B parameters, " << request.dtype
            << ", random weights) written to " << request.out << "\n";
        return 0;
    });
}

ToolStatus runPretrain(const PretrainRequest& request, std::ostream& out)
{
    return catchTool([&] { return pretrain(request, out); });
}

ToolStatus runBenchLlm(const BenchLlmRequest& request, std::ostream& out)
{
    return catchTool([&] { return benchLlm(request, out); });
}

}  // namespace recalign::core
