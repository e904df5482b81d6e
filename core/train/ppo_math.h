// PPO maths as free functions on small tensors: masked statistics, whitening, GAE, KL estimators,
// clipped policy/value losses, entropy, explained variance, KL controllers and token rewards.
// No models, no optimizers: everything here is tested against hand-computed numbers.
#pragma once

#include "core/api/experiment.h"

#include <torch/types.h>

#include <string>
#include <vector>

namespace recalign::core {

// Shape legend: B sequences, T response positions (right-padded), V vocabulary.
// `mask` is (B, T) with 1 on action tokens and 0 on padding; any float or bool dtype.

// Masked mean over all elements (a 0-dim tensor). A mask with no ones gives 0.
torch::Tensor maskedMean(const torch::Tensor& x, const torch::Tensor& mask);
// Masked mean along `dim` (per row when dim = 1); rows without ones give 0.
torch::Tensor maskedMean(const torch::Tensor& x, const torch::Tensor& mask, int64_t dim);
// Masked variance over all elements, around the masked mean. `unbiased` applies Bessel's
// correction n/(n-1) (TRL's masked_var and the released code); n < 2 gives 0.
torch::Tensor maskedVar(const torch::Tensor& x, const torch::Tensor& mask, bool unbiased = true);

// Whitening with masked statistics, eps 1e-8, unbiased variance.
//   shiftMean = true:  (x - mean) / sqrt(var + eps)         (advantages: TRL, released code)
//   shiftMean = false: x / sqrt(var + eps)                  (rewards in the released code, §5.4)
// The result is multiplied by the mask (padding stays 0).
torch::Tensor maskedWhiten(const torch::Tensor& x, const torch::Tensor& mask, bool shiftMean = true);

// Generalised advantage estimation, backwards over T with V_{T+1} = 0 past each sequence's last
// action token (right padding):
//   delta_t = r_t + gamma * m_{t+1} * V_{t+1} - V_t
//   A_t     = delta_t + gamma * lambda * m_{t+1} * A_{t+1}
//   returns = (A + V) * mask
// All inputs (B, T); outputs (B, T), zero on padding. No whitening here.
struct GaeResult {
    torch::Tensor advantages;  // (B, T)
    torch::Tensor returns;     // (B, T)
};
GaeResult computeGae(const torch::Tensor& rewards, const torch::Tensor& values,
                     const torch::Tensor& mask, double gamma, double lambda);

// Per-token KL estimators of KL(pi || ref) from log-probs of the sampled tokens (any shape).
// With logr = ref - logp: k1 = -logr, k2 = 0.5 * logr^2, k3 = (exp(logr) - 1) - logr (>= 0).
// KlEstimator is the experiment's ppo.kl_estimator (core/api/experiment.h).
torch::Tensor klEstimate(const torch::Tensor& logp, const torch::Tensor& refLogp, KlEstimator kind);
const char* klEstimatorName(KlEstimator kind);

// Clipped surrogate policy loss (masked means over action tokens):
//   ratio = exp(logp - oldLogp); loss = mean(max(-A * ratio, -A * clip(ratio, 1 - eps, 1 + eps)))
struct PolicyLossResult {
    torch::Tensor loss;       // 0-dim, differentiable
    double clipfrac = 0.0;    // share of tokens where the clipped term is the larger one
    double approxkl = 0.0;    // 0.5 * mean((logp - oldLogp)^2)
    double policykl = 0.0;    // mean(oldLogp - logp) (the released code's early-stop statistic)
    double ratio_mean = 0.0;  // mean ratio (1 on fresh rollouts)
    double ratio_max = 0.0;   // largest |ratio - 1| + 1 seen on action tokens
};
// `tokenNorm` > 0 aggregates as Dr. GRPO does instead: sum over action tokens / (B * tokenNorm),
// so no response is divided by its own length.
PolicyLossResult clippedPolicyLoss(const torch::Tensor& logp, const torch::Tensor& oldLogp,
                                   const torch::Tensor& advantages, const torch::Tensor& mask,
                                   double clipRange, double tokenNorm = 0.0);

// A per-token loss aggregated over the action tokens: the masked mean, or with tokenNorm > 0
// sum / (B * tokenNorm) (Dr. GRPO). 0-dim, differentiable.
torch::Tensor aggregateTokenLoss(const torch::Tensor& x, const torch::Tensor& mask, double tokenNorm = 0.0);

// Return-to-go of token rewards: G_t = r_t + gamma * G_{t+1} within each response (B, T), zero on
// padding (computeGae with V = 0 and lambda = 1).
torch::Tensor returnsToGo(const torch::Tensor& rewards, const torch::Tensor& mask, double gamma);

// Critic-free advantages from token rewards (B, T) (item rewards on the tokens that end their items,
// the list reward on the final token, and with KL in the reward -eta * KL on every token).
// G_{i,t} = returnsToGo; S_i = G_{i,0}, the response's whole return; `groups[i]` names response
// i's prompt (its group). Responses differ in length and token positions do not align, so the
// baseline is a sequence-level number: every token of a response is compared with the same
// baseline b_i, computed from the whole returns S of the group (n_g responses):
//   grpo:         A_{i,t} = (G_{i,t} - mean_g S) / (sigma_g + 1e-4), where
//                 sigma_g^2 = sum_i mean_t (G_{i,t} - mean_g S)^2 / (n_g - 1): each response
//                 weighs the same whatever its length, and with an outcome-only reward sigma_g is
//                 the group's std of S (n - 1, as TRL). Inner tokens differ from S by the rewards
//                 already received, so dividing by the std of S alone would blow them up when
//                 the lists of a group tie; a group whose token returns all equal its mean gets 0.
//   grpo, Dr.:    A_{i,t} =  G_{i,t} - mean_g S                       (scaleByStd = false)
//   rloo:         A_{i,t} =  G_{i,t} - (sum_g S - S_i) / (n_g - 1)
//   reinforce_pp: A = G whitened over every action token of the batch (mean 0, std 1; OpenRLHF)
// With an outcome-only reward (one reward on the final token) G_{i,t} = S_i and these are the
// published estimators exactly. A group of fewer than two responses throws (grpo, rloo).
torch::Tensor criticFreeAdvantages(const torch::Tensor& rewards, const torch::Tensor& mask,
                                   const std::vector<int64_t>& groups, RlAlgorithm algorithm, double gamma,
                                   bool scaleByStd = true);

// Per-group spread of the responses' total rewards: the mean over groups of the sample std (n - 1)
// and the share of groups whose rewards are all equal (their advantages are all 0 under grpo and
// rloo: TRL's frac_reward_zero_std). Groups of one response count as zero-std.
struct GroupRewardStats {
    double std_mean = 0.0;
    double frac_zero_std = 0.0;
    int groups = 0;
};
GroupRewardStats groupRewardStats(const std::vector<double>& totals, const std::vector<int64_t>& groups);

// Clipped value loss: 0.5 * mean(max((V - R)^2, (clip(V, Vold - c, Vold + c) - R)^2)).
// clipRange <= 0 disables clipping (0.5 * mean((V - R)^2)).
struct ValueLossResult {
    torch::Tensor loss;     // 0-dim, differentiable
    double clipfrac = 0.0;  // share of tokens where the clipped error is the larger one
};
ValueLossResult clippedValueLoss(const torch::Tensor& values, const torch::Tensor& oldValues,
                                 const torch::Tensor& returns, const torch::Tensor& mask,
                                 double clipRange);

// DPO / S-DPO loss of one preference group from summed response log-probs: `chosen` and
// `chosenRef` 0-dim, `rejected` and `rejectedRef` (K). With h = beta * (logp - refLogp):
//   K = 1 (DPO):  loss = -log sigmoid(h_w - h_l)
//   S-DPO:        loss = -log sigmoid(-log sum_l exp(h_l - h_w)) = softplus(logsumexp_l(h_l - h_w))
// (S-DPO with one negative is DPO). The references carry no gradient. Reported as TRL does:
// rewards/chosen = h_w, rewards/rejected = mean_l h_l, margin = their difference, accuracy =
// 1 when h_w exceeds every h_l.
struct PreferenceLossResult {
    torch::Tensor loss;  // 0-dim, differentiable
    double chosen_reward = 0.0;
    double rejected_reward = 0.0;
    double margin = 0.0;
    double accuracy = 0.0;
};
PreferenceLossResult preferenceLoss(const torch::Tensor& chosen, const torch::Tensor& chosenRef,
                                    const torch::Tensor& rejected, const torch::Tensor& rejectedRef, double beta);

// Entropy of each categorical distribution given its logits (..., V) -> (...). Logits of -inf
// (masked tokens of constrained decoding) contribute 0, not NaN.
torch::Tensor entropyFromLogits(const torch::Tensor& logits);

// 1 - Var(returns - values) / Var(returns) over masked tokens; 0 when Var(returns) is 0.
double explainedVariance(const torch::Tensor& values, const torch::Tensor& returns,
                         const torch::Tensor& mask);

// KL coefficient controllers. Fixed keeps its value. Adaptive follows TRL's
// AdaptiveKLController (Ziegler et al. 2019): err = clip(kl / target - 1, -0.2, 0.2);
// value *= 1 + err * nSteps / horizon.
class KlController {
public:
    static KlController fixed(double value);
    static KlController adaptive(double initValue, double target, double horizon);

    double value() const { return m_value; }
    bool isAdaptive() const { return m_adaptive; }
    // `currentKl`: mean per-sequence KL of the last rollout; `nSteps`: sequences in it.
    void update(double currentKl, long nSteps);
    // For checkpoints: only the current value changes over a run.
    void setValue(double value) { m_value = value; }

private:
    double m_value = 0.3;
    bool m_adaptive = false;
    double m_target = 6.0;
    double m_horizon = 10000.0;
};

// Dense per-token scores for one response of `length` tokens: `itemRewards[i]` added at token
// index `itemTokenIndex[i]` (the token that terminates item i), `listReward` added at the final
// token. Indices outside [0, length) throw CoreException(Internal).
std::vector<float> placeTokenScores(int length, const std::vector<int>& itemTokenIndex,
                                    const std::vector<double>& itemRewards, double listReward);

// Token rewards of eq. 6: r = scores - klCoef * kl on action tokens, 0 on padding.
// scores, kl, mask: (B, T).
torch::Tensor assembleTokenRewards(const torch::Tensor& scores, const torch::Tensor& kl,
                                   const torch::Tensor& mask, double klCoef);

}  // namespace recalign::core
