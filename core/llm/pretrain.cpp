// Pre-training from scratch and tokenizer training on the same corpus (see pretrain.h).
#include "core/llm/pretrain.h"

#include "core/api/error.h"
#include "core/dist/dist.h"
#include "core/llm/chat_template.h"
#include "core/runtime/optimizer.h"
#include "core/runtime/runtime.h"
#include "core/util/rng.h"

#include <torch/cuda.h>
#include <torch/nn/functional/loss.h>
#include <torch/nn/utils/clip_grad.h>
#include <torch/optim/adamw.h>

#include <chrono>
#include <cmath>
#include <fstream>

namespace recalign::core::llm {

double pretrainLearningRate(const PretrainOptions& o, int64_t step, int64_t total)
{
    const int64_t warmup = o.warmup_steps >= 0 ? o.warmup_steps : static_cast<int64_t>(0.05 * static_cast<double>(total));
    if (step < warmup)
        return o.lr * static_cast<double>(step + 1) / static_cast<double>(warmup);
    if (o.schedule == "constant")
        return o.lr;
    const double span = static_cast<double>(std::max<int64_t>(1, total - warmup));
    const double progress = std::min(1.0, static_cast<double>(step - warmup) / span);
    if (o.schedule == "linear")
        return o.lr + (o.min_lr - o.lr) * progress;
    return o.min_lr + 0.5 * (o.lr - o.min_lr) * (1.0 + std::cos(M_PI * progress));
}

PretrainOptions pretrainOptions(const ModelConfig& m, uint64_t seed, const std::string& device)
{
    PretrainOptions o;
    o.model = fromScratchLlamaConfig(m);
    o.epochs = m.pretrain.epochs;
    o.lr = m.pretrain.lr;
    o.min_lr = m.pretrain.lr / 10.0;
    o.batch_size = m.pretrain.batch;
    o.seq_len = std::min(128, m.max_seq_len);
    o.seed = seed;
    o.device = device;
    o.compute_dtype = m.compute_dtype;
    return o;
}

PretrainResult pretrainModel(const Tokenizer& tok, const std::vector<std::string>& documents,
                             const PretrainOptions& o, Observer* observer)
{
    auto bad = [](const std::string& m, const char* key) {
        throw CoreException(ErrorCode::InvalidConfig, "pretrain: " + m, std::string("pretrain.") + key);
    };
    if (!tok.isLoaded())
        bad("no tokenizer", "tokenizer");
    if (o.batch_size < 1)
        bad("batch_size must be >= 1", "batch");
    if (o.batch_size % dist::world() != 0)
        bad(std::to_string(o.batch_size) + " windows per step do not divide among " + std::to_string(dist::world())
                + " processes (data parallelism splits each batch; use a multiple of the world size)",
            "batch");
    if (o.seq_len < 2)
        bad("seq_len must be >= 2", "seq_len");
    if (!(o.lr > 0.0))
        bad("lr must be positive", "lr");
    if (o.schedule != "cosine" && o.schedule != "linear" && o.schedule != "constant")
        bad("schedule '" + o.schedule + "': expected cosine, linear or constant", "schedule");
    NullObserver nullObserver;
    Observer& obs = observer ? *observer : nullObserver;

    std::vector<int64_t> stream;
    for (const auto& doc : documents) {
        stream.push_back(tok.bosId());
        for (int32_t t : encodeWithSpecialTokens(tok, doc, /*addBos=*/false))
            stream.push_back(t);
        stream.push_back(tok.eosId());
    }
    const int64_t W = o.seq_len + 1;
    if (static_cast<int64_t>(stream.size()) < W)
        bad("the corpus has " + std::to_string(stream.size()) + " tokens, fewer than one window of "
                + std::to_string(W),
            "corpus");
    const int64_t total = o.steps > 0 ? o.steps
                                      : std::max<int64_t>(1, static_cast<int64_t>(std::ceil(
                                                                 o.epochs * static_cast<double>(stream.size())
                                                                 / static_cast<double>(o.batch_size * o.seq_len))));

    LlamaConfig cfg = o.model;
    cfg.vocab_size = tok.vocabSize();
    cfg.validate();
    const torch::Device device = resolveDevice(o.device);
    PretrainResult res;
    res.corpus_tokens = static_cast<int64_t>(stream.size());
    res.model = LlamaModel(cfg);
    initLlamaWeights(*res.model, o.seed);
    res.model->to(device);
    res.model->setComputeDtype(o.compute_dtype);
    res.model->train();

    std::vector<torch::Tensor> decay, noDecay;
    for (auto& p : res.model->parameters())
        (p.dim() >= 2 ? decay : noDecay).push_back(p);
    std::vector<torch::optim::OptimizerParamGroup> groups;
    groups.emplace_back(decay, std::make_unique<torch::optim::AdamWOptions>(
                                   torch::optim::AdamWOptions(o.lr).betas({o.beta1, o.beta2}).eps(o.adam_eps).weight_decay(o.weight_decay)));
    groups.emplace_back(noDecay, std::make_unique<torch::optim::AdamWOptions>(
                                     torch::optim::AdamWOptions(o.lr).betas({o.beta1, o.beta2}).eps(o.adam_eps).weight_decay(0.0)));
    torch::optim::AdamW opt(std::move(groups));

    const torch::Tensor data = torch::tensor(stream, torch::kLong);
    MersenneRng rng(o.seed ^ 0x5DEECE66Dull);
    const int64_t lastStart = static_cast<int64_t>(stream.size()) - W;
    obs.onStageBegin("pretrain", total);
    // Thousands of rows per product: the budget to OpenBLAS's threads in float32 (core/api/info.h).
    ScopedLargeProductThreads productThreads(device, res.model->float32Products());
    const auto t0 = std::chrono::steady_clock::now();
    double windowLoss = 0.0;
    int64_t windowCount = 0;
    for (int64_t step = 0; step < total; ++step) {
        if (obs.stopRequested())
            throw CoreException(ErrorCode::Cancelled, "pretraining cancelled at step " + std::to_string(step), "pretrain");
        // Data parallel: every rank draws the whole batch's windows and trains on its contiguous share.
        std::vector<torch::Tensor> rows;
        const int share = o.batch_size / dist::world(), first = share * dist::rank();
        for (int b = 0; b < o.batch_size; ++b) {
            const int64_t start = rng.uniformIntStd<int64_t>(0, lastStart);
            if (b >= first && b < first + share)
                rows.push_back(data.narrow(0, start, W));
        }
        const torch::Tensor batch = torch::stack(rows).to(device);
        const torch::Tensor input = batch.narrow(1, 0, o.seq_len), target = batch.narrow(1, 1, o.seq_len);
        const double lr = pretrainLearningRate(o, step, total);
        for (auto& g : opt.param_groups())
            static_cast<torch::optim::AdamWOptions&>(g.options()).lr(lr);
        opt.zero_grad();
        const torch::Tensor logits = res.model->forward(input).logits;
        const torch::Tensor loss = torch::nn::functional::cross_entropy(logits.reshape({-1, cfg.vocab_size}),
                                                                         target.reshape({-1}));
        double lossValue = loss.item<double>();
        if (!dist::active()) {
            if (!std::isfinite(lossValue))
                throw CoreException(ErrorCode::Diverged, "pretraining diverged: loss " + std::to_string(lossValue)
                                                             + " at step " + std::to_string(step + 1),
                                    "pretrain");
            loss.backward();
        } else {
            // Each rank's mean over its share, weighted by the share: the sum is the batch's mean.
            const double weight = static_cast<double>(share) / static_cast<double>(o.batch_size);
            (loss * weight).backward();
            std::vector<torch::Tensor> grads;
            for (auto& p : res.model->parameters()) {
                if (!p.grad().defined())
                    p.mutable_grad() = torch::zeros_like(p);
                grads.push_back(p.grad());
            }
            grads.push_back(torch::tensor({lossValue * weight}, torch::kFloat));
            dist::allreduceSum(grads);
            lossValue = grads.back().item<double>();
            if (!std::isfinite(lossValue))
                throw CoreException(ErrorCode::Diverged, "pretraining diverged: loss " + std::to_string(lossValue)
                                                             + " at step " + std::to_string(step + 1),
                                    "pretrain");
        }
        double gradNorm = 0.0;
        if (o.grad_clip > 0.0)
            gradNorm = torch::nn::utils::clip_grad_norm_(res.model->parameters(), o.grad_clip);
        stepOptimizer(opt);
        res.losses.push_back(lossValue);
        windowLoss += lossValue;
        ++windowCount;
        const bool last = step + 1 == total;
        if (last || (o.log_every > 0 && (step + 1) % o.log_every == 0)) {
            const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
            StepRecord r;
            r.stage = "pretrain";
            r.step = step + 1;
            r.total_steps = total;
            r.epoch = static_cast<double>((step + 1) * o.batch_size * o.seq_len) / static_cast<double>(stream.size());
            r.wall_time = std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
            res.tokens_per_second = elapsed > 0 ? static_cast<double>((step + 1) * o.batch_size * o.seq_len) / elapsed : 0.0;
            res.final_loss = windowLoss / static_cast<double>(windowCount);
            r.metrics = {{"loss", res.final_loss},
                         {"learning_rate", lr},
                         {"grad_norm", gradNorm},
                         {"tokens_per_second", res.tokens_per_second}};
            obs.onStep(r);
            windowLoss = 0.0;
            windowCount = 0;
        }
        res.steps = step + 1;
    }
    res.model->eval();
    obs.onStageEnd("pretrain");
    return res;
}

Tokenizer trainTokenizerOnCorpus(const std::vector<std::string>& documents, const std::string& modelPrefix,
                                 const TokenizerTrainOptions& options)
{
    const std::string corpus = modelPrefix + ".corpus.txt";
    {
        std::ofstream out(corpus, std::ios::trunc);
        if (!out)
            throw CoreException(ErrorCode::CheckpointIO, "cannot write '" + corpus + "'", corpus);
        for (std::string doc : documents) {
            for (char& c : doc)
                if (c == '\n' || c == '\r')
                    c = ' ';
            if (!doc.empty())
                out << doc << '\n';
        }
    }
    Tokenizer::train(corpus, modelPrefix, options);
    std::remove(corpus.c_str());
    Tokenizer tok = Tokenizer::load(modelPrefix + ".model");
    const std::string probe = "1. A\n 2. B";
    if (tok.decode(tok.encode(probe)) != probe)
        throw CoreException(ErrorCode::InvalidConfig,
                            "tokenizer '" + modelPrefix + ".model' does not keep newlines (normalization_rule '"
                                + options.normalization_rule + "'; use identity)",
                            "tokenizer.normalization_rule");
    return tok;
}

TokenizerTrainOptions llamaTokenizerOptions(int vocabSize, const std::vector<std::string>& userSymbols)
{
    TokenizerTrainOptions o;
    o.model_type = "bpe";
    o.vocab_size = vocabSize;
    o.byte_fallback = true;
    o.split_digits = true;
    o.normalization_rule = "identity";
    o.user_defined_symbols = userSymbols;
    return o;
}

std::vector<double> timeTrainingSteps(const LlamaConfig& c, int seq, int batch, int steps, const std::string& device)
{
    const torch::Device dev = resolveDevice(device);
    LlamaModel model(c);
    initLlamaWeights(*model, 0);
    model->to(dev);
    model->train();
    torch::manual_seed(0);
    const torch::Tensor tokens = torch::randint(0, c.vocab_size, {batch, seq + 1}, torch::kLong).to(dev);
    const torch::Tensor in = tokens.narrow(1, 0, seq), target = tokens.narrow(1, 1, seq);
    auto sync = [&] {
        if (dev.is_cuda())
            torch::cuda::synchronize();
    };
    auto once = [&] {
        model->zero_grad();
        const torch::Tensor logits = model->forward(in).logits;
        torch::nn::functional::cross_entropy(logits.reshape({-1, c.vocab_size}), target.reshape({-1})).backward();
    };
    once();
    once();
    sync();
    std::vector<double> secs;
    for (int s = 0; s < steps; ++s) {
        const auto t0 = std::chrono::steady_clock::now();
        once();
        sync();
        secs.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    }
    return secs;
}

}  // namespace recalign::core::llm
