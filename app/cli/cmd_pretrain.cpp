// `recalign pretrain`: trains a tokenizer and a small Llama from scratch on a text corpus (one
// document per line) and saves both as a recalign checkpoint folder.
#include "app/cli/command.h"

#include "core/api/llm_tools.h"

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

int runPretrain(const std::vector<std::string>& args)
{
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
    core::PretrainRequest request;
    request.corpus = a.get("corpus");
    request.out = a.get("out");
    request.vocab_size = static_cast<int>(a.getInt("vocab-size", 512));
    request.chat = a.get("chat", "compact");
    request.model.dim = static_cast<int>(a.getInt("dim", 64));
    request.model.n_layers = static_cast<int>(a.getInt("layers", 4));
    request.model.n_heads = static_cast<int>(a.getInt("heads", 4));
    request.model.n_kv_heads = static_cast<int>(a.getInt("kv-heads", 0));
    request.model.hidden_dim = static_cast<int>(a.getInt("hidden-dim", 0));
    request.model.max_seq_len = static_cast<int>(a.getInt("max-seq-len", 512));
    request.seq = static_cast<int>(a.getInt("seq", 128));
    request.batch = static_cast<int>(a.getInt("batch", 16));
    request.steps = a.getInt("steps", 0);
    request.epochs = a.getDouble("epochs", 1.0);
    request.lr = a.getDouble("lr", 1e-3);
    request.min_lr = a.optionalDouble("min-lr");
    request.warmup = a.getInt("warmup", -1);
    request.schedule = a.get("schedule", "cosine");
    request.weight_decay = a.getDouble("weight-decay", 0.1);
    request.seed = static_cast<uint64_t>(a.getInt("seed", 0));
    request.device = a.get("device", "cpu");
    return toolExitCode(core::runPretrain(request, std::cout));
}

const CommandRegistrar kPretrainRegistrar({"pretrain", "train a tokenizer and a small Llama from scratch on a corpus",
                                           runPretrain});

}  // namespace cmd_pretrain_detail
}  // namespace recalign::cli
