// PPO maths on small tensors (see ppo_math.h for the formulas and their sources).
#include "core/train/ppo_math.h"

#include "core/api/error.h"

#include <torch/nn/functional.h>

#include <algorithm>
#include <cmath>

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
                                   double clipRange)
{
    const auto m = ppo_math_detail::asFloatMask(mask, logp);
    const auto logRatio = logp - oldLogp.detach();
    const auto ratio = torch::exp(logRatio);
    const auto adv = advantages.detach();
    const auto unclipped = -adv * ratio;
    const auto clipped = -adv * torch::clamp(ratio, 1.0 - clipRange, 1.0 + clipRange);
    PolicyLossResult out;
    out.loss = maskedMean(torch::max(unclipped, clipped), m);
    torch::NoGradGuard noGrad;
    out.clipfrac = maskedMean(torch::gt(clipped, unclipped).to(logp.scalar_type()), m).item<double>();
    out.approxkl = (0.5 * maskedMean(logRatio.pow(2), m)).item<double>();
    out.policykl = maskedMean(-logRatio, m).item<double>();
    out.ratio_mean = maskedMean(ratio, m).item<double>();
    const auto dev = ((ratio - 1.0).abs() * m);
    out.ratio_max = dev.numel() ? 1.0 + dev.max().item<double>() : 1.0;
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
