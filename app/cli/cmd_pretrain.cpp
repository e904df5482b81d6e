// `recalign pretrain`: trains a tokenizer and a small Llama from scratch on a text corpus (one
// document per line) and saves both as a recalign checkpoint folder.
#include "app/cli/command.h"

#include "core/api/error.h"
#include "core/llm/chat_template.h"
#include "core/llm/loaders.h"
#include "core/llm/pretrain.h"
#include "core/util/strings.h"

#include <filesystem>
#include <fstream>
#include <iostream>

namespace recalign::cli {

namespace cmd_pretrain_detail {

const char* kUsage =
    "usage: recalign pretrain --corpus FILE --out DIR [--vocab-size N] [--chat compact|llama2]\n"
    "           [--dim N] [--layers N] [--heads N] [--kv-heads N] [--hidden-dim N] [--max-seq-len N]\n"
    "           [--seq N] [--batch N] [--steps N | --epochs E] [--lr X] [--min-lr X] [--warmup N]\n"
    "           [--schedule cosine|linear|constant] [--weight-decay X] [--seed S] [--device D]\n"
    "FILE holds one document per line. Defaults: vocab 512, dim 64, 4 layers, 4 heads, seq 128,\n"
    "batch 16, 1 epoch, lr 1e-3 cosine to 1e-4. DIR gets config.json, model.safetensors and\n"
    "tokenizer.model (load it with `recalign generate --model DIR`).\n";

class PrintObserver : public core::Observer {
public:
    void onStep(const core::StepRecord& r) override
    {
        std::cout << "  step " << r.step << "/" << r.total_steps;
        for (const auto& [k, v] : r.metrics)
            std::cout << "  " << k << " " << core::str::fixed(v, k == "learning_rate" ? 6 : 4);
        std::cout << std::endl;
    }
};

int runPretrain(const std::vector<std::string>& args)
{
    using namespace core::llm;
    Args a(args,
           {"corpus", "out", "vocab-size", "chat", "dim", "layers", "heads", "kv-heads", "hidden-dim", "max-seq-len",
            "seq", "batch", "steps", "epochs", "lr", "min-lr", "warmup", "schedule", "weight-decay", "seed", "device"},
           {"help"});
    if (a.has("help")) {
        std::cout << kUsage;
        return 0;
    }
    if (!a.has("corpus") || !a.has("out"))
        throw std::invalid_argument("--corpus and --out are required\n" + std::string(kUsage));
    std::ifstream in(a.get("corpus"));
    if (!in)
        throw core::CoreException(core::ErrorCode::DataLoad, "cannot read corpus '" + a.get("corpus") + "'");
    std::vector<std::string> docs;
    for (std::string line; std::getline(in, line);)
        if (!core::str::trim(line).empty())
            docs.push_back(line);
    const std::string out = a.get("out");
    std::filesystem::create_directories(out);
    const ChatTemplate chat = parseChatTemplate(a.get("chat", "compact"));
    std::cout << "training tokenizer on " << docs.size() << " documents" << std::endl;
    const core::Tokenizer tok = trainTokenizerOnCorpus(docs, out + "/tokenizer",
                                                 llamaTokenizerOptions(static_cast<int>(a.getInt("vocab-size", 512)),
                                                                       chatTemplateSymbols(chat)));
    PretrainOptions o;
    o.model.dim = static_cast<int>(a.getInt("dim", 64));
    o.model.n_layers = static_cast<int>(a.getInt("layers", 4));
    o.model.n_heads = static_cast<int>(a.getInt("heads", 4));
    o.model.n_kv_heads = static_cast<int>(a.getInt("kv-heads", o.model.n_heads));
    o.model.hidden_dim = static_cast<int>(a.getInt("hidden-dim", llamaHiddenDim(o.model.dim)));
    o.model.max_seq_len = static_cast<int>(a.getInt("max-seq-len", 512));
    o.model.tie_embeddings = true;
    o.model.rope_layout = RopeLayout::RotateHalf;
    o.seq_len = static_cast<int>(a.getInt("seq", 128));
    o.batch_size = static_cast<int>(a.getInt("batch", 16));
    o.steps = a.getInt("steps", 0);
    o.epochs = a.getDouble("epochs", 1.0);
    o.lr = a.getDouble("lr", 1e-3);
    o.min_lr = a.getDouble("min-lr", o.lr / 10);
    o.warmup_steps = a.getInt("warmup", -1);
    o.schedule = a.get("schedule", "cosine");
    o.weight_decay = a.getDouble("weight-decay", 0.1);
    o.seed = static_cast<uint64_t>(a.getInt("seed", 0));
    o.device = a.get("device", "cpu");
    PrintObserver obs;
    PretrainResult r = pretrainModel(tok, docs, o, &obs);
    r.model->to(torch::kCPU);
    saveCheckpoint(*r.model, out, &tok);
    std::filesystem::remove(out + "/tokenizer.vocab");
    std::cout << "saved " << out << " (" << r.steps << " steps, " << r.corpus_tokens << " corpus tokens, final loss "
              << core::str::fixed(r.final_loss, 4) << ", " << core::str::fixed(r.tokens_per_second, 0)
              << " tokens/s)" << std::endl;
    return 0;
}

const CommandRegistrar kPretrainRegistrar({"pretrain", "train a tokenizer and a small Llama from scratch on a corpus",
                                           runPretrain});

}  // namespace cmd_pretrain_detail
}  // namespace recalign::cli
