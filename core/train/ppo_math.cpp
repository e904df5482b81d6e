// PPO maths on small tensors (see ppo_math.h for the formulas and their sources).
#include "core/train/ppo_math.h"

#include "core/api/error.h"

#include <torch/nn/functional.h>

#include <algorithm>
#include <cmath>
#include <map>

namespace recalign::core {

namespace ppo_math_detail {
constexpr double kWhitenEps = 1e-8;

torch::Tensor asFloatMask(const torch::Tensor& mask, const torch::Tensor& like)
{
    return mask.to(like.scalar_type());
}
}  // namespace ppo_math_detail

torch::Tensor maskedMean(const torch::Tensor& x, const torch::Tensor& mask)
{
    const auto m = ppo_math_detail::asFloatMask(mask, x);
    return (x * m).sum() / m.sum().clamp_min(1.0);
}

torch::Tensor maskedMean(const torch::Tensor& x, const torch::Tensor& mask, int64_t dim)
{
    const auto m = ppo_math_detail::asFloatMask(mask, x);
    return (x * m).sum(dim) / m.sum(dim).clamp_min(1.0);
}

torch::Tensor maskedVar(const torch::Tensor& x, const torch::Tensor& mask, bool unbiased)
{
    const auto m = ppo_math_detail::asFloatMask(mask, x);
    const auto n = m.sum();
    const auto mean = maskedMean(x, m);
    auto var = maskedMean((x - mean).pow(2), m);
    if (unbiased) {
        const double count = n.item<double>();
        if (count < 2.0)
            return torch::zeros({}, x.options());
        var = var * (count / (count - 1.0));
    }
    return var;
}

torch::Tensor maskedWhiten(const torch::Tensor& x, const torch::Tensor& mask, bool shiftMean)
{
    const auto m = ppo_math_detail::asFloatMask(mask, x);
    const auto var = maskedVar(x, m, /*unbiased=*/true);
    const auto scale = torch::rsqrt(var + ppo_math_detail::kWhitenEps);
    auto out = shiftMean ? (x - maskedMean(x, m)) * scale : x * scale;
    return out * m;
}

GaeResult computeGae(const torch::Tensor& rewards, const torch::Tensor& values,
                     const torch::Tensor& mask, double gamma, double lambda)
{
    TORCH_CHECK(rewards.dim() == 2 && rewards.sizes() == values.sizes()
                    && rewards.sizes() == mask.sizes(),
                "computeGae: rewards, values and mask must share one (B, T) shape; got ",
                rewards.sizes(), ", ", values.sizes(), ", ", mask.sizes());
    const auto m = ppo_math_detail::asFloatMask(mask, rewards);
    const auto v = values.detach() * m;
    const auto r = rewards.detach() * m;
    const int64_t T = rewards.size(1);
    auto adv = torch::zeros_like(r);
    auto next = torch::zeros({rewards.size(0)}, r.options());      // A_{t+1}
    auto nextValue = torch::zeros({rewards.size(0)}, r.options()); // V_{t+1} (0 past the end)
    auto nextMask = torch::zeros({rewards.size(0)}, r.options());  // m_{t+1}
    for (int64_t t = T - 1; t >= 0; --t) {
        const auto delta = r.select(1, t) + gamma * nextMask * nextValue - v.select(1, t);
        const auto a = delta + gamma * lambda * nextMask * next;
        adv.select(1, t).copy_(a * m.select(1, t));
        next = a;
        nextValue = v.select(1, t);
        nextMask = m.select(1, t);
    }
    adv = adv * m;
    return {adv, (adv + v) * m};
}

torch::Tensor klEstimate(const torch::Tensor& logp, const torch::Tensor& refLogp, KlEstimator kind)
{
    const auto logr = refLogp - logp;
    switch (kind) {
    case KlEstimator::K1:
        return -logr;
    case KlEstimator::K2:
        return 0.5 * logr.pow(2);
    case KlEstimator::K3:
        return torch::expm1(logr) - logr;
    }
    return -logr;
}

const char* klEstimatorName(KlEstimator kind)
{
    switch (kind) {
    case KlEstimator::K1:
        return "k1";
    case KlEstimator::K2:
        return "k2";
    case KlEstimator::K3:
        return "k3";
    }
    return "k1";
}

PolicyLossResult clippedPolicyLoss(const torch::Tensor& logp, const torch::Tensor& oldLogp,
                                   const torch::Tensor& advantages, const torch::Tensor& mask,
                                   double clipRange, double tokenNorm)
{
    const auto m = ppo_math_detail::asFloatMask(mask, logp);
    const auto logRatio = logp - oldLogp.detach();
    const auto ratio = torch::exp(logRatio);
    const auto adv = advantages.detach();
    const auto unclipped = -adv * ratio;
    const auto clipped = -adv * torch::clamp(ratio, 1.0 - clipRange, 1.0 + clipRange);
    PolicyLossResult out;
    out.loss = aggregateTokenLoss(torch::max(unclipped, clipped), m, tokenNorm);
    torch::NoGradGuard noGrad;
    out.clipfrac = maskedMean(torch::gt(clipped, unclipped).to(logp.scalar_type()), m).item<double>();
    out.approxkl = (0.5 * maskedMean(logRatio.pow(2), m)).item<double>();
    out.policykl = maskedMean(-logRatio, m).item<double>();
    out.ratio_mean = maskedMean(ratio, m).item<double>();
    const auto dev = ((ratio - 1.0).abs() * m);
    out.ratio_max = dev.numel() ? 1.0 + dev.max().item<double>() : 1.0;
    return out;
}

torch::Tensor aggregateTokenLoss(const torch::Tensor& x, const torch::Tensor& mask, double tokenNorm)
{
    const auto m = ppo_math_detail::asFloatMask(mask, x);
    if (tokenNorm <= 0.0)
        return maskedMean(x, m);
    const double rows = static_cast<double>(std::max<int64_t>(1, x.dim() > 1 ? x.size(0) : 1));
    return (x * m).sum() / (rows * tokenNorm);
}

torch::Tensor returnsToGo(const torch::Tensor& rewards, const torch::Tensor& mask, double gamma)
{
    return computeGae(rewards, torch::zeros_like(rewards), mask, gamma, 1.0).advantages;
}

torch::Tensor criticFreeAdvantages(const torch::Tensor& rewards, const torch::Tensor& mask,
                                   const std::vector<int64_t>& groups, RlAlgorithm algorithm, double gamma,
                                   bool scaleByStd)
{
    TORCH_CHECK(rewards.dim() == 2 && static_cast<size_t>(rewards.size(0)) == groups.size(),
                "criticFreeAdvantages: ", groups.size(), " group ids for rewards of shape ", rewards.sizes());
    const auto m = ppo_math_detail::asFloatMask(mask, rewards);
    const auto G = returnsToGo(rewards.detach(), m, gamma);
    switch (algorithm) {
    case RlAlgorithm::ReinforcePp:
        return maskedWhiten(G, m, /*shiftMean=*/true);
    case RlAlgorithm::Grpo:
    case RlAlgorithm::Rloo:
        break;
    case RlAlgorithm::Ppo:
        throw CoreException(ErrorCode::Internal, "criticFreeAdvantages: ppo uses its critic (computeGae)");
    }
    const size_t B = groups.size();
    const auto S = G.select(1, 0).to(torch::kCPU, torch::kDouble).contiguous();
    const double* s = S.data_ptr<double>();
    std::map<int64_t, std::vector<size_t>> members;
    for (size_t i = 0; i < B; ++i)
        members[groups[i]].push_back(i);
    std::vector<double> groupMean(B, 0.0);
    for (const auto& [g, rows] : members) {
        if (rows.size() < 2)
            throw CoreException(ErrorCode::InvalidConfig,
                                std::string(rlAlgorithmName(algorithm)) + ": the group of prompt " + std::to_string(g)
                                    + " has one response; its baseline needs at least two (ppo.samples_per_prompt)",
                                "ppo.samples_per_prompt");
        double sum = 0.0;
        for (size_t i : rows)
            sum += s[i];
        for (size_t i : rows)
            groupMean[i] = sum / static_cast<double>(rows.size());
    }
    // Per response: mean_t (G_it - mean_g S)^2 (grpo's sigma).
    const auto md = m.to(torch::kCPU, torch::kDouble);
    const auto centred = G.to(torch::kCPU, torch::kDouble)
        - torch::from_blob(groupMean.data(), {static_cast<int64_t>(B), 1}, torch::TensorOptions().dtype(torch::kDouble));
    const auto dev2 = ((centred * centred * md).sum(1) / md.sum(1).clamp_min(1.0)).contiguous();
    const double* d2 = dev2.data_ptr<double>();
    std::vector<double> baseline(B, 0.0), scale(B, 1.0);
    for (const auto& [g, rows] : members) {
        const double n = static_cast<double>(rows.size());
        double ss = 0.0;
        for (size_t i : rows)
            ss += d2[i];
        const double sigma = std::sqrt(ss / (n - 1.0));
        for (size_t i : rows) {
            if (algorithm == RlAlgorithm::Rloo) {
                baseline[i] = (groupMean[i] * n - s[i]) / (n - 1.0);
            } else {
                baseline[i] = groupMean[i];
                scale[i] = scaleByStd ? 1.0 / (sigma + 1e-4) : 1.0;
            }
        }
    }
    const auto opts = torch::TensorOptions().dtype(torch::kDouble);
    const auto b = torch::from_blob(baseline.data(), {static_cast<int64_t>(B), 1}, opts).to(rewards.options());
    const auto k = torch::from_blob(scale.data(), {static_cast<int64_t>(B), 1}, opts).to(rewards.options());
    return (G - b) * k * m;
}

GroupRewardStats groupRewardStats(const std::vector<double>& totals, const std::vector<int64_t>& groups)
{
    if (totals.size() != groups.size())
        throw CoreException(ErrorCode::Internal, "groupRewardStats: " + std::to_string(totals.size()) + " totals, "
                                                     + std::to_string(groups.size()) + " group ids");
    std::map<int64_t, std::vector<double>> members;
    for (size_t i = 0; i < totals.size(); ++i)
        members[groups[i]].push_back(totals[i]);
    GroupRewardStats out;
    double stdSum = 0.0, zero = 0.0;
    for (const auto& [g, xs] : members) {
        const double n = static_cast<double>(xs.size());
        double mean = 0.0;
        for (double x : xs)
            mean += x / n;
        double ss = 0.0;
        bool allEqual = true;
        for (double x : xs) {
            ss += (x - mean) * (x - mean);
            allEqual = allEqual && x == xs.front();
        }
        stdSum += xs.size() > 1 ? std::sqrt(ss / (n - 1.0)) : 0.0;
        zero += allEqual ? 1.0 : 0.0;
    }
    out.groups = static_cast<int>(members.size());
    if (out.groups > 0) {
        out.std_mean = stdSum / out.groups;
        out.frac_zero_std = zero / out.groups;
    }
    return out;
}

ValueLossResult clippedValueLoss(const torch::Tensor& values, const torch::Tensor& oldValues,
                                 const torch::Tensor& returns, const torch::Tensor& mask,
                                 double clipRange)
{
    const auto m = ppo_math_detail::asFloatMask(mask, values);
    const auto ret = returns.detach();
    const auto err1 = (values - ret).pow(2);
    ValueLossResult out;
    if (clipRange <= 0.0) {
        out.loss = 0.5 * maskedMean(err1, m);
        return out;
    }
    const auto old = oldValues.detach();
    const auto vClipped = old + torch::clamp(values - old, -clipRange, clipRange);
    const auto err2 = (vClipped - ret).pow(2);
    out.loss = 0.5 * maskedMean(torch::max(err1, err2), m);
    torch::NoGradGuard noGrad;
    out.clipfrac = maskedMean(torch::gt(err2, err1).to(values.scalar_type()), m).item<double>();
    return out;
}

PreferenceLossResult preferenceLoss(const torch::Tensor& chosen, const torch::Tensor& chosenRef,
                                    const torch::Tensor& rejected, const torch::Tensor& rejectedRef, double beta)
{
    TORCH_CHECK(rejected.dim() == 1 && rejected.size(0) >= 1 && rejected.sizes() == rejectedRef.sizes(),
                "preferenceLoss: rejected and rejectedRef must be (K >= 1); got ", rejected.sizes(), " and ",
                rejectedRef.sizes());
    const auto hw = beta * (chosen.reshape({}) - chosenRef.detach().reshape({}));
    const auto hl = beta * (rejected - rejectedRef.detach());
    PreferenceLossResult out;
    out.loss = torch::nn::functional::softplus(torch::logsumexp(hl - hw, 0));
    torch::NoGradGuard noGrad;
    out.chosen_reward = hw.item<double>();
    out.rejected_reward = hl.mean().item<double>();
    out.margin = out.chosen_reward - out.rejected_reward;
    out.accuracy = (hw > hl).all().item<bool>() ? 1.0 : 0.0;
    return out;
}

torch::Tensor entropyFromLogits(const torch::Tensor& logits)
{
    const auto logp = torch::log_softmax(logits, -1);
    // -inf log-probs (masked tokens) would give 0 * -inf = NaN in values and gradients.
    const auto safeLogp = logp.masked_fill(torch::isinf(logp), 0.0);
    return -(torch::exp(logp) * safeLogp).sum(-1);
}

double explainedVariance(const torch::Tensor& values, const torch::Tensor& returns,
                         const torch::Tensor& mask)
{
    torch::NoGradGuard noGrad;
    const auto m = ppo_math_detail::asFloatMask(mask, values);
    const double varReturns = maskedVar(returns, m, /*unbiased=*/false).item<double>();
    if (varReturns <= 0.0)
        return 0.0;
    const double varError = maskedVar(returns - values, m, /*unbiased=*/false).item<double>();
    return 1.0 - varError / varReturns;
}

KlController KlController::fixed(double value)
{
    KlController c;
    c.m_value = value;
    c.m_adaptive = false;
    return c;
}

KlController KlController::adaptive(double initValue, double target, double horizon)
{
    if (!(target > 0.0) || !(horizon > 0.0))
        throw CoreException(ErrorCode::InvalidConfig,
                            "adaptive KL controller: target and horizon must be > 0 (got target "
                                + std::to_string(target) + ", horizon " + std::to_string(horizon) + ")",
                            "ppo.kl_target");
    KlController c;
    c.m_value = initValue;
    c.m_adaptive = true;
    c.m_target = target;
    c.m_horizon = horizon;
    return c;
}

void KlController::update(double currentKl, long nSteps)
{
    if (!m_adaptive || !std::isfinite(currentKl))
        return;
    const double err = std::clamp(currentKl / m_target - 1.0, -0.2, 0.2);
    m_value *= 1.0 + err * static_cast<double>(nSteps) / m_horizon;
}

std::vector<float> placeTokenScores(int length, const std::vector<int>& itemTokenIndex,
                                    const std::vector<double>& itemRewards, double listReward)
{
    if (length <= 0)
        throw CoreException(ErrorCode::Internal, "placeTokenScores: empty response");
    if (itemTokenIndex.size() != itemRewards.size())
        throw CoreException(ErrorCode::Internal,
                            "placeTokenScores: " + std::to_string(itemRewards.size())
                                + " item rewards but " + std::to_string(itemTokenIndex.size())
                                + " token positions");
    std::vector<float> scores(static_cast<size_t>(length), 0.0f);
    for (size_t i = 0; i < itemTokenIndex.size(); ++i) {
        const int at = itemTokenIndex[i];
        if (at < 0 || at >= length)
            throw CoreException(ErrorCode::Internal,
                                "placeTokenScores: item " + std::to_string(i) + " ends at token "
                                    + std::to_string(at) + ", outside a response of "
                                    + std::to_string(length) + " tokens");
        scores[static_cast<size_t>(at)] += static_cast<float>(itemRewards[i]);
    }
    scores.back() += static_cast<float>(listReward);
    return scores;
}

torch::Tensor assembleTokenRewards(const torch::Tensor& scores, const torch::Tensor& kl,
                                   const torch::Tensor& mask, double klCoef)
{
    const auto m = ppo_math_detail::asFloatMask(mask, scores);
    return (scores - klCoef * kl.detach()) * m;
}

}  // namespace recalign::core
