// core/train tests: PPO maths against hand-computed numbers, schedules, AdamW groups, gradient
// clipping, atomic checkpoints and the shared train loop (Diverged, skip, Cancelled).
#include "core/api/error.h"
#include "core/api/info.h"
#include "core/api/observer.h"
#include "core/data/synthetic.h"
#include "core/llm/generation.h"
#include "core/llm/loaders.h"
#include "core/llm/title_constraint.h"
#include "core/rules/title_lookup.h"
#include "core/runtime/optimizer.h"
#include "core/train/ppo_math.h"
#include "core/train/dpo_trainer.h"
#include "core/train/ppo_trainer.h"
#include "core/train/recommendation_rl.h"
#include "core/runtime/optimizer.h"
#include "core/train/schedule.h"
#include "core/train/sft_trainer.h"
#include "core/util/length_groups.h"
#include "core/train/train_state.h"

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <QElapsedTimer>
#include <QTemporaryDir>
#include <QtTest>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <limits>

using namespace recalign::core;

namespace tst_train_detail {

// Slow slots run only in the `tst_train_slow` CTest entry (RECALIGN_SLOW_TESTS=1), fast ones only
// without it.
bool slowRun()
{
    const char* v = std::getenv("RECALIGN_SLOW_TESTS");
    return v && std::string(v) == "1";
}

void expectNear(const torch::Tensor& actual, const std::vector<double>& expected, double tol,
                const char* what)
{
    const auto flat = actual.to(torch::kFloat64).reshape({-1}).contiguous();
    QVERIFY2(flat.numel() == static_cast<int64_t>(expected.size()), what);
    for (size_t i = 0; i < expected.size(); ++i) {
        const double a = flat[static_cast<int64_t>(i)].item<double>();
        if (std::abs(a - expected[i]) > tol) {
            const std::string msg = std::string(what) + ": element " + std::to_string(i) + " is "
                + std::to_string(a) + ", expected " + std::to_string(expected[i]);
            QFAIL(msg.c_str());
        }
    }
}

torch::Tensor t2(std::vector<std::vector<double>> rows)
{
    std::vector<torch::Tensor> out;
    for (auto& r : rows)
        out.push_back(torch::tensor(r, torch::kFloat32));
    return torch::stack(out);
}

class RecordingObserver : public Observer {
public:
    std::vector<StepRecord> steps;
    std::vector<SampleRecord> samples;
    std::vector<std::string> logs;
    long stopAfterSteps = -1;  // stopRequested() once this many step events arrived
    void onStep(const StepRecord& r) override { steps.push_back(r); }
    void onSample(const SampleRecord& s) override { samples.push_back(s); }
    void onLog(LogLevel, const std::string& t) override { logs.push_back(t); }
    bool stopRequested() const override
    {
        return stopAfterSteps >= 0 && static_cast<long>(steps.size()) >= stopAfterSteps;
    }
    double metric(size_t step, const std::string& name) const
    {
        for (const auto& [k, v] : steps.at(step).metrics)
            if (k == name)
                return v;
        return std::nan("");
    }
};

}  // namespace tst_train_detail

using namespace tst_train_detail;

#define RECALIGN_FAST_ONLY()                                                                       \
    if (slowRun())                                                                                 \
    QSKIP("fast test: runs in tst_train")
#define RECALIGN_SLOW_ONLY()                                                                       \
    if (!slowRun())                                                                                \
    QSKIP("slow test: runs in tst_train_slow (RECALIGN_SLOW_TESTS=1)")

class TstTrain : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void initTestCase();
    // ppo maths
    void maskedStatisticsIgnorePadding();
    void whiteningMatchesHandComputedValues();
    void gaeMatchesHandComputedValues();
    void gaeWithReleasedDefaultsIsDiscountedReturnMinusValue();
    void klEstimatorsMatchHandComputedValues();
    void clippedPolicyLossMatchesHandComputedValues();
    void clippedValueLossMatchesHandComputedValues();
    void entropyIgnoresMaskedTokens();
    void explainedVarianceIsOneForPerfectValues();
    void adaptiveKlControllerFollowsTrlRule();
    void tokenRewardsLandOnItemAndFinalTokens();
    void criticFreeAdvantagesOfOutcomeRewardsMatchHandComputedValues();
    void criticFreeAdvantagesOfItemRewardsMatchHandComputedValues();
    void anIllegalItemLowersTheAdvantageOfItsTokens();
    void drGrpoLossSumsTokensOverTheBudget();
    void groupRewardStatsCountZeroStdGroups();
    void preferenceLossesMatchHandComputedValues();
    void preferenceGroupsDropTiesAndAllIllegalPrompts();
    // schedule and optimizer
    void scheduleWarmsUpThenDecaysPolynomially();
    void adamWDecaysOnlyMatrices();
    void fusedAdamWStepEqualsTorchs();
    void gradientClippingReportsNormAndScales();
    // checkpoints and loop
    void checkpointRoundTripResumesIdentically();
    void failedCommitLeavesLastCheckpointIntact();
    void checkpointIsPlainSafetensors();
    void nanLossStopsWithDivergedNamingStep();
    void nanLossCanSkipTheBatch();
    void stopRequestCancels();
    // PPO
    void rolloutLogprobsMatchLearningLogprobs();
    void rolloutLogprobsMatchUnderConstrainedDecoding();
    void sharedPromptScoringEqualsPackedScoring();
    void ppoRatioIsOneAtFirstEpoch();
    void ppoRaisesToyRewardQuickly();
    void ppoRaisesToyRewardOverManyIterations();
    void criticFreeAlgorithmsRaiseToyReward();
    void grpoResumeReproducesUninterruptedRun();
    void dpoAndSdpoRaiseToyReward();
    void dpoResumeReproducesUninterruptedRun();
    void ppoConcurrentPassesGiveTheSerialResults();
    void ppoResumeReproducesUninterruptedRun();
    void ppoNanRewardStopsAndKeepsCheckpoint();
    void ppoStopRequestCancels();
    void ppoScoresRecommendationsWithRules();
    void ppoRunsOnRecommendationPromptsWithValidation();
    // SFT
    void sftLossCoversReplyTokensOnly();
    void lengthGroupsMinimiseTheCost();
    void sftSubBatchesGiveTheOneBatchLossAndGradient();
    void sftStartsFromAnExternalAdapter();
    void bf16BaseKeepsFloat32AdaptersAndMoments();
    void sftLowersLossAndBeatsUntrainedModel();
    void sftResumeReproducesUninterruptedRun();
    void sftNanStopsWithDivergedAndKeepsCheckpoint();
};

void TstTrain::initTestCase()
{
    // One torch thread, and OpenBLAS's own pool at one: spinning threads only slow these small
    // products down.
    setComputeThreads(1, 1);
}

// ---- PPO maths ---------------------------------------------------------------------------------

void TstTrain::maskedStatisticsIgnorePadding()
{
    RECALIGN_FAST_ONLY();
    const auto x = t2({{1, 2, 3, 4, 100}});
    const auto m = t2({{1, 1, 1, 1, 0}});
    // mean = 10/4 = 2.5; squared deviations 2.25 + 0.25 + 0.25 + 2.25 = 5
    QCOMPARE(maskedMean(x, m).item<double>(), 2.5);
    QVERIFY(std::abs(maskedVar(x, m, false).item<double>() - 1.25) < 1e-6);       // 5 / 4
    QVERIFY(std::abs(maskedVar(x, m, true).item<double>() - 5.0 / 3.0) < 1e-6);   // 5 / 3
    expectNear(maskedMean(t2({{1, 3, 9}, {2, 0, 0}}), t2({{1, 1, 0}, {1, 0, 0}}), 1), {2.0, 2.0},
               1e-6, "row means");
    QCOMPARE(maskedMean(x, torch::zeros_like(m)).item<double>(), 0.0);
}

void TstTrain::whiteningMatchesHandComputedValues()
{
    RECALIGN_FAST_ONLY();
    const auto x = t2({{1, 2, 3, 4, 100}});
    const auto m = t2({{1, 1, 1, 1, 0}});
    // unbiased var 5/3, std = 1.2909944; (x - 2.5) / std
    expectNear(maskedWhiten(x, m, true), {-1.161895, -0.387298, 0.387298, 1.161895, 0.0}, 1e-5,
               "whiten with mean shift");
    // released reward whitening: x / std, no mean shift
    expectNear(maskedWhiten(x, m, false), {0.774597, 1.549193, 2.323790, 3.098387, 0.0}, 1e-5,
               "whiten without mean shift");
}

void TstTrain::gaeMatchesHandComputedValues()
{
    RECALIGN_FAST_ONLY();
    // gamma = 0.5, lambda = 0.5 (gamma * lambda = 0.25).
    // Row 0: 3 action tokens + 1 pad. r = [1, 0, 2], V = [0.5, 1.0, 0.25], V_3 = 0.
    //   t=2: delta = 2 + 0 - 0.25 = 1.75;                 A2 = 1.75
    //   t=1: delta = 0 + 0.5*0.25 - 1.0 = -0.875;        A1 = -0.875 + 0.25*1.75 = -0.4375
    //   t=0: delta = 1 + 0.5*1.0 - 0.5 = 1.0;            A0 = 1.0 + 0.25*(-0.4375) = 0.890625
    //   returns = A + V = [1.390625, 0.5625, 2.0, 0]
    // Row 1: 4 tokens, r = [0, 0, 0, 1], V = 0: A = [1/64, 1/16, 1/4, 1], returns = A.
    const auto r = t2({{1, 0, 2, 9}, {0, 0, 0, 1}});
    const auto v = t2({{0.5, 1.0, 0.25, 7}, {0, 0, 0, 0}});
    const auto m = t2({{1, 1, 1, 0}, {1, 1, 1, 1}});
    const auto g = computeGae(r, v, m, 0.5, 0.5);
    expectNear(g.advantages, {0.890625, -0.4375, 1.75, 0, 0.015625, 0.0625, 0.25, 1.0}, 1e-6,
               "advantages");
    expectNear(g.returns, {1.390625, 0.5625, 2.0, 0, 0.015625, 0.0625, 0.25, 1.0}, 1e-6, "returns");
}

void TstTrain::gaeWithReleasedDefaultsIsDiscountedReturnMinusValue()
{
    RECALIGN_FAST_ONLY();
    // gamma 0.99, lambda 1: A_t = sum_k 0.99^k r_{t+k} - V_t.
    // r = [0, 0, 1], V = [0.2, 0.3, 0.4]: A = [0.9801 - 0.2, 0.99 - 0.3, 1 - 0.4]
    const auto g = computeGae(t2({{0, 0, 1}}), t2({{0.2, 0.3, 0.4}}), t2({{1, 1, 1}}), 0.99, 1.0);
    expectNear(g.advantages, {0.7801, 0.69, 0.6}, 1e-6, "advantages");
    expectNear(g.returns, {0.9801, 0.99, 1.0}, 1e-6, "returns");
}

void TstTrain::klEstimatorsMatchHandComputedValues()
{
    RECALIGN_FAST_ONLY();
    // Token 0: pi = 0.5, ref = 0.25 -> logr = ln 0.5 = -0.693147
    //   k1 = 0.693147, k2 = 0.5 * 0.480453 = 0.240227, k3 = (0.5 - 1) + 0.693147 = 0.193147
    // Token 1: pi = 0.25, ref = 0.5 -> logr = +0.693147
    //   k1 = -0.693147 (k1 can be negative per token), k2 = 0.240227, k3 = 1 - 0.693147 = 0.306853
    const auto logp = torch::log(torch::tensor({0.5, 0.25}));
    const auto ref = torch::log(torch::tensor({0.25, 0.5}));
    expectNear(klEstimate(logp, ref, KlEstimator::K1), {0.693147, -0.693147}, 1e-5, "k1");
    expectNear(klEstimate(logp, ref, KlEstimator::K2), {0.240227, 0.240227}, 1e-5, "k2");
    expectNear(klEstimate(logp, ref, KlEstimator::K3), {0.193147, 0.306853}, 1e-5, "k3");
    QCOMPARE(std::string(klEstimatorName(KlEstimator::K3)), std::string("k3"));
}

void TstTrain::clippedPolicyLossMatchesHandComputedValues()
{
    RECALIGN_FAST_ONLY();
    // ratio = [1, 1.5, 0.5, 1.1], A = [1, 1, -1, -2], eps = 0.2, 5th token is padding.
    //   t0: max(-1, -1) = -1                    (not clipped)
    //   t1: max(-1.5, -1.2) = -1.2              (clipped)
    //   t2: max(0.5, 0.8) = 0.8                 (clipped)
    //   t3: max(2.2, 2.2) = 2.2                 (not clipped)
    //   loss = (-1 - 1.2 + 0.8 + 2.2) / 4 = 0.2; clipfrac = 2/4
    //   approxkl = 0.5 * (0 + 0.164402 + 0.480453 + 0.009084) / 4 = 0.081742
    //   d loss / d logp = [-1, 0, 0, 2.2] / 4
    const auto old = torch::zeros({1, 5});
    auto logp = torch::log(torch::tensor({{1.0f, 1.5f, 0.5f, 1.1f, 3.0f}})).requires_grad_(true);
    const auto adv = t2({{1, 1, -1, -2, 5}});
    const auto m = t2({{1, 1, 1, 1, 0}});
    const auto r = clippedPolicyLoss(logp, old, adv, m, 0.2);
    QVERIFY(std::abs(r.loss.item<double>() - 0.2) < 1e-6);
    QCOMPARE(r.clipfrac, 0.5);
    QVERIFY(std::abs(r.approxkl - 0.0817424) < 1e-5);
    QVERIFY(std::abs(r.ratio_mean - 1.025) < 1e-6);
    r.loss.backward();
    expectNear(logp.grad(), {-0.25, 0.0, 0.0, 0.55, 0.0}, 1e-6, "policy gradient");
    // Fresh rollout: ratio exactly 1, nothing clipped, approx KL 0.
    const auto fresh = clippedPolicyLoss(old, old, adv, m, 0.2);
    QCOMPARE(fresh.ratio_mean, 1.0);
    QCOMPARE(fresh.clipfrac, 0.0);
    QCOMPARE(fresh.approxkl, 0.0);
}

void TstTrain::clippedValueLossMatchesHandComputedValues()
{
    RECALIGN_FAST_ONLY();
    // V = [1.0, 0.45], Vold = [0.5, 0.5], R = [2.0, 0.0], clip 0.2:
    //   t0: (V-R)^2 = 1; clip(V) = 0.7, (0.7-2)^2 = 1.69 -> 1.69 (clipped)
    //   t1: (0.45)^2 = 0.2025; clip(V) = 0.45 -> 0.2025 (not clipped)
    //   loss = 0.5 * (1.69 + 0.2025) / 2 = 0.473125; clipfrac = 0.5
    const auto v = t2({{1.0, 0.45}});
    const auto r = clippedValueLoss(v, t2({{0.5, 0.5}}), t2({{2.0, 0.0}}), t2({{1, 1}}), 0.2);
    QVERIFY(std::abs(r.loss.item<double>() - 0.473125) < 1e-6);
    QCOMPARE(r.clipfrac, 0.5);
    // Without clipping: 0.5 * (1 + 0.2025) / 2 = 0.300625
    const auto u = clippedValueLoss(v, t2({{0.5, 0.5}}), t2({{2.0, 0.0}}), t2({{1, 1}}), 0.0);
    QVERIFY(std::abs(u.loss.item<double>() - 0.300625) < 1e-6);
}

void TstTrain::entropyIgnoresMaskedTokens()
{
    RECALIGN_FAST_ONLY();
    const double inf = std::numeric_limits<double>::infinity();
    auto logits = torch::tensor({{0.0, 0.0, -inf, -inf}, {0.0, 0.0, 0.0, 0.0}}).requires_grad_(true);
    const auto h = entropyFromLogits(logits);
    expectNear(h, {std::log(2.0), std::log(4.0)}, 1e-6, "entropy");  // uniform over 2 and 4
    h.sum().backward();
    QVERIFY(torch::isfinite(logits.grad()).all().item<bool>());
}

void TstTrain::explainedVarianceIsOneForPerfectValues()
{
    RECALIGN_FAST_ONLY();
    const auto ret = t2({{1, 2, 3, 50}});
    const auto m = t2({{1, 1, 1, 0}});
    QVERIFY(std::abs(explainedVariance(ret, ret, m) - 1.0) < 1e-9);
    QVERIFY(std::abs(explainedVariance(torch::zeros_like(ret), ret, m)) < 1e-9);
    // values = returns - [1, -1, 0]: var(err) = 2/3, var(ret) = 2/3 -> 0
    QVERIFY(std::abs(explainedVariance(t2({{0, 3, 3, 0}}), ret, m)) < 1e-6);
}

void TstTrain::adaptiveKlControllerFollowsTrlRule()
{
    RECALIGN_FAST_ONLY();
    // err = clip(kl / 6 - 1, -0.2, 0.2); value *= 1 + err * n / 10000
    auto c = KlController::adaptive(0.2, 6.0, 10000.0);
    c.update(9.0, 256);  // err = 0.2 -> 0.2 * 1.00512
    QVERIFY(std::abs(c.value() - 0.201024) < 1e-12);
    auto d = KlController::adaptive(0.2, 6.0, 10000.0);
    d.update(3.0, 256);  // err = -0.2 -> 0.2 * 0.99488
    QVERIFY(std::abs(d.value() - 0.198976) < 1e-12);
    auto e = KlController::adaptive(0.2, 6.0, 10000.0);
    e.update(6.6, 100);  // err = 0.1 -> 0.2 * 1.001
    QVERIFY(std::abs(e.value() - 0.2002) < 1e-12);
    auto f = KlController::fixed(0.3);
    f.update(100.0, 1000);
    QCOMPARE(f.value(), 0.3);
}

void TstTrain::tokenRewardsLandOnItemAndFinalTokens()
{
    RECALIGN_FAST_ONLY();
    // Items end at tokens 1 and 3 (rewards 0.5, -1), list reward 2 on the final token 4.
    const auto s = placeTokenScores(5, {1, 3}, {0.5, -1.0}, 2.0);
    QCOMPARE(s, (std::vector<float>{0.0f, 0.5f, 0.0f, -1.0f, 2.0f}));
    // The last item's terminator can be the final token: rewards add up.
    QCOMPARE(placeTokenScores(3, {2}, {0.25}, 1.0), (std::vector<float>{0.0f, 0.0f, 1.25f}));
    bool threw = false;
    try {
        placeTokenScores(3, {3}, {0.25}, 1.0);
    } catch (const CoreException&) {
        threw = true;
    }
    QVERIFY(threw);
    // r = scores - 0.3 * kl on action tokens: kl = [0.1, -0.2, 0.5, 9(pad)]
    const auto r = assembleTokenRewards(t2({{0, 0.5, 2, 7}}), t2({{0.1, -0.2, 0.5, 9}}),
                                        t2({{1, 1, 1, 0}}), 0.3);
    expectNear(r, {-0.03, 0.56, 1.85, 0.0}, 1e-6, "token rewards");
}

void TstTrain::criticFreeAdvantagesOfOutcomeRewardsMatchHandComputedValues()
{
    RECALIGN_FAST_ONLY();
    // One group of 4 responses of 2, 3, 1 and 2 tokens, rewarded on their final token only:
    // S = [1, 3, 5, 3], mean 3, deviations [-2, 0, 2, 0].
    const auto r = t2({{0, 1, 0}, {0, 0, 3}, {5, 0, 0}, {0, 3, 0}});
    const auto m = t2({{1, 1, 0}, {1, 1, 1}, {1, 0, 0}, {1, 1, 0}});
    const std::vector<int64_t> g{0, 0, 0, 0};
    // GRPO: std (n - 1) = sqrt(8 / 3) = 1.6329932; 2 / (1.6329932 + 1e-4) = 1.2246699.
    const double a = 1.2246699;
    expectNear(criticFreeAdvantages(r, m, g, RlAlgorithm::Grpo, 1.0),
               {-a, -a, 0, 0, 0, 0, a, 0, 0, 0, 0, 0}, 1e-6, "grpo");
    // Dr. GRPO: no division by the std.
    expectNear(criticFreeAdvantages(r, m, g, RlAlgorithm::Grpo, 1.0, /*scaleByStd=*/false),
               {-2, -2, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0}, 1e-6, "dr grpo");
    // RLOO: baselines (12 - S_i) / 3 = [11/3, 3, 7/3, 3].
    const double b = 8.0 / 3.0;
    expectNear(criticFreeAdvantages(r, m, g, RlAlgorithm::Rloo, 1.0),
               {-b, -b, 0, 0, 0, 0, b, 0, 0, 0, 0, 0}, 1e-6, "rloo");
    // REINFORCE++: the 8 token returns [1, 1, 3, 3, 3, 5, 3, 3] whitened together: mean 2.75,
    // unbiased var 11.5 / 7, std 1.2817399.
    const double lo = -1.3653316, mid = 0.1950474, hi = 1.7554264;
    expectNear(criticFreeAdvantages(r, m, g, RlAlgorithm::ReinforcePp, 1.0),
               {lo, lo, 0, mid, mid, mid, hi, 0, 0, mid, mid, 0}, 1e-5, "reinforce++");
    // A group of one response has no baseline.
    bool threw = false;
    try {
        criticFreeAdvantages(r, m, {0, 0, 0, 1}, RlAlgorithm::Rloo, 1.0);
    } catch (const CoreException& e) {
        threw = e.error().where == "ppo.samples_per_prompt";
    }
    QVERIFY(threw);
}

void TstTrain::criticFreeAdvantagesOfItemRewardsMatchHandComputedValues()
{
    RECALIGN_FAST_ONLY();
    // Two lists of one group, identical but for the item that ends at token 2 (illegal: -1 in
    // row 0; 0.25 in row 1); items 0.5 at token 0, list reward 2 on the final token 3.
    // Returns-to-go (gamma 1): row 0 [1.5, 1, 1, 2], row 1 [2.75, 2.25, 2.25, 2]; S = [1.5, 2.75].
    const auto r = t2({{0.5, 0, -1, 2}, {0.5, 0, 0.25, 2}});
    const auto m = t2({{1, 1, 1, 1}, {1, 1, 1, 1}});
    expectNear(returnsToGo(r, m, 1.0), {1.5, 1, 1, 2, 2.75, 2.25, 2.25, 2}, 1e-6, "returns to go");
    // gamma 0.5, row 0: G3 = 2, G2 = -1 + 1 = 0, G1 = 0, G0 = 0.5.
    expectNear(returnsToGo(r, m, 0.5).select(0, 0), {0.5, 0, 0, 2}, 1e-6, "discounted");
    // GRPO: mean S 2.125; centred row 0 [-0.625, -1.125, -1.125, -0.125], row 1 [0.625, 0.125,
    // 0.125, -0.125]; token means of squares 2.9375 / 4 and 0.4375 / 4; sigma = sqrt(0.84375 / 1)
    // = 0.9185587; A = centred / (sigma + 1e-4).
    expectNear(criticFreeAdvantages(r, m, {7, 7}, RlAlgorithm::Grpo, 1.0),
               {-0.6803398, -1.2246116, -1.2246116, -0.1360680, 0.6803398, 0.1360680, 0.1360680, -0.1360680}, 1e-6,
               "grpo");
    expectNear(criticFreeAdvantages(r, m, {7, 7}, RlAlgorithm::Grpo, 1.0, false),
               {-0.625, -1.125, -1.125, -0.125, 0.625, 0.125, 0.125, -0.125}, 1e-6, "dr grpo");
    // RLOO: row 0 against S_1 = 2.75, row 1 against S_0 = 1.5.
    expectNear(criticFreeAdvantages(r, m, {7, 7}, RlAlgorithm::Rloo, 1.0),
               {-1.25, -1.75, -1.75, -0.75, 1.25, 0.75, 0.75, 0.5}, 1e-6, "rloo");
    // Identical lists (S ties, std of S 0): the inner tokens' returns still differ from S, and
    // sigma (0.7289) keeps their advantages of order 1 instead of dividing by 1e-4.
    const auto same = t2({{0.5, 0, 0.25, 2}, {0.5, 0, 0.25, 2}});
    const auto tied = criticFreeAdvantages(same, m, {1, 1}, RlAlgorithm::Grpo, 1.0);
    QVERIFY(tied.abs().max().item<double>() < 1.5);
}

void TstTrain::anIllegalItemLowersTheAdvantageOfItsTokens()
{
    RECALIGN_FAST_ONLY();
    // Two lists of three items of two tokens each (items end at tokens 1, 3, 5), identical but
    // for the middle item, illegal (-1) in list B; the lists' rewards through the reward path.
    const std::vector<int> ends{1, 3, 5};
    const auto a = placeTokenScores(6, ends, {0.6, 0.5, 0.4}, 1.2);
    const auto b = placeTokenScores(6, ends, {0.6, -1.0, 0.4}, 0.7);
    const auto r = torch::stack({torch::tensor(a), torch::tensor(b), torch::tensor(a), torch::tensor(b)});
    const auto m = torch::ones({4, 6});
    for (auto [alg, std] : {std::pair{RlAlgorithm::Grpo, true}, std::pair{RlAlgorithm::Grpo, false},
                            std::pair{RlAlgorithm::Rloo, true}, std::pair{RlAlgorithm::ReinforcePp, true}}) {
        const auto adv = criticFreeAdvantages(r, m, {0, 0, 1, 1}, alg, 1.0, std);
        const auto gap = (adv[1] - adv[0]);  // B minus A, token by token
        const std::string name = std::string(rlAlgorithmName(alg)) + (std ? "" : " (Dr.)");
        // On the illegal item's tokens (2, 3) B's advantage is lower than A's ...
        for (int t : {2, 3})
            QVERIFY2(gap[t].item<double>() < -0.1, (name + ": token " + std::to_string(t)).c_str());
        // ... and the gap there is the row's largest: tokens after the item (4, 5) carry less of
        // it (none under grpo and reinforce_pp; rloo's baseline, the other list's return, moves
        // every token), tokens before it as much (returns-to-go: the item lies in their future).
        for (int t : {0, 1, 4, 5})
            QVERIFY2(gap[t].item<double>() >= gap[2].item<double>() - 1e-6, (name + ": token " + std::to_string(t)).c_str());
        for (int t : {4, 5})
            QVERIFY2(gap[t].item<double>() > gap[2].item<double>() + 0.1, (name + ": token " + std::to_string(t)).c_str());
        // Within list B, the illegal item's tokens get less than the next item's.
        QVERIFY2(adv[1][3].item<double>() < adv[1][4].item<double>(), name.c_str());
        // Both groups are alike: the advantages repeat.
        QVERIFY(torch::allclose(adv[0], adv[2]) && torch::allclose(adv[1], adv[3]));
    }
}

void TstTrain::drGrpoLossSumsTokensOverTheBudget()
{
    RECALIGN_FAST_ONLY();
    // Fresh rollout (ratio 1): token losses -A. Rows of 3 and 1 action tokens, A = [1, 2, 3] and [4].
    const auto logp = t2({{-1, -1, -1}, {-1, 0, 0}});
    const auto adv = t2({{1, 2, 3}, {4, 0, 0}});
    const auto m = t2({{1, 1, 1}, {1, 0, 0}});
    // Token mean over the micro-batch: -(1 + 2 + 3 + 4) / 4 = -2.5.
    QVERIFY(std::abs(clippedPolicyLoss(logp, logp, adv, m, 0.2).loss.item<double>() + 2.5) < 1e-6);
    // Dr. GRPO with a budget of 8 tokens: -(10) / (2 rows * 8) = -0.625.
    QVERIFY(std::abs(clippedPolicyLoss(logp, logp, adv, m, 0.2, 8.0).loss.item<double>() + 0.625) < 1e-6);
    QVERIFY(std::abs(aggregateTokenLoss(adv, m, 8.0).item<double>() - 0.625) < 1e-6);
}

void TstTrain::groupRewardStatsCountZeroStdGroups()
{
    RECALIGN_FAST_ONLY();
    // Group 0: [1, 3, 5, 3], std sqrt(8 / 3); group 1: [2, 2], std 0.
    const auto g = groupRewardStats({1, 2, 3, 5, 2, 3}, {0, 1, 0, 0, 1, 0});
    QCOMPARE(g.groups, 2);
    QVERIFY(std::abs(g.std_mean - std::sqrt(8.0 / 3.0) / 2.0) < 1e-12);
    QCOMPARE(g.frac_zero_std, 0.5);
}

void TstTrain::preferenceLossesMatchHandComputedValues()
{
    RECALIGN_FAST_ONLY();
    // beta 0.5. Chosen: logp -3, reference -4 -> h_w = 0.5. Rejected: logp -5, reference -4.5
    // -> h_l = -0.25. DPO: -log sigmoid(0.75) = log(1 + e^-0.75) = 0.3868710.
    const auto cw = torch::tensor(-3.0, torch::requires_grad()), rw = torch::tensor(-4.0);
    auto dpo = preferenceLoss(cw, rw, torch::tensor({-5.0}), torch::tensor({-4.5}), 0.5);
    QVERIFY(std::abs(dpo.loss.item<double>() - 0.3868710) < 1e-6);
    QVERIFY(std::abs(dpo.chosen_reward - 0.5) < 1e-12 && std::abs(dpo.rejected_reward + 0.25) < 1e-12);
    QVERIFY(std::abs(dpo.margin - 0.75) < 1e-12);
    QCOMPARE(dpo.accuracy, 1.0);
    // d loss / d logp_w = -beta * sigmoid(-(h_w - h_l)) = -0.5 * 0.3208213 = -0.1604107.
    dpo.loss.backward();
    QVERIFY(std::abs(cw.grad().item<double>() + 0.1604107) < 1e-6);
    // S-DPO with a second rejected list (logp -2, reference -3 -> h = 0.5, a tie with the chosen):
    // softplus(log(e^-0.75 + e^0)) = log(1 + e^-0.75 + 1) = 0.9051758; accuracy 0 (no strict win).
    const auto sdpo = preferenceLoss(torch::tensor(-3.0), rw, torch::tensor({-5.0, -2.0}), torch::tensor({-4.5, -3.0}), 0.5);
    QVERIFY(std::abs(sdpo.loss.item<double>() - 0.9051758) < 1e-6);
    QVERIFY(std::abs(sdpo.rejected_reward - 0.125) < 1e-12);
    QCOMPARE(sdpo.accuracy, 0.0);
    // S-DPO with one negative is DPO.
    QVERIFY(std::abs(preferenceLoss(torch::tensor(-3.0), rw, torch::tensor({-5.0}), torch::tensor({-4.5}), 0.5).loss.item<double>()
                     - dpo.loss.item<double>()) < 1e-12);
}

void TstTrain::preferenceGroupsDropTiesAndAllIllegalPrompts()
{
    RECALIGN_FAST_ONLY();
    PreferenceStats st;
    PreferenceGroup g;
    const std::vector<std::vector<int32_t>> lists{{1, 2}, {3}, {4, 5}, {3}, {6}};
    // Totals: the best is list 2 (1.5); the lowest below it: list 1 (-2), then list 3 (-2, the
    // same tokens: skipped), then list 0 (0.25).
    QVERIFY(buildPreferenceGroup(lists, {0.25, -2, 1.5, -2, 1.0}, {2, 0, 3, 0, 1}, 2, g, st));
    QCOMPARE(g.chosen, (std::vector<int32_t>{4, 5}));
    QCOMPARE(g.chosen_score, 1.5);
    QCOMPARE(g.rejected, (std::vector<std::vector<int32_t>>{{3}, {1, 2}}));
    QCOMPARE(g.rejected_scores, (std::vector<double>{-2, 0.25}));
    // DPO: the single lowest.
    QVERIFY(buildPreferenceGroup(lists, {0.25, -2, 1.5, -2, 1.0}, {2, 0, 3, 0, 1}, 1, g, st));
    QCOMPARE(g.rejected, (std::vector<std::vector<int32_t>>{{3}}));
    // Four negatives asked, three distinct lists below the best: a short group.
    QVERIFY(buildPreferenceGroup(lists, {0.25, -2, 1.5, -2, 1.0}, {2, 0, 3, 0, 1}, 4, g, st));
    QCOMPARE(g.rejected.size(), size_t(3));
    // All tied; all illegal (even with different scores).
    QVERIFY(!buildPreferenceGroup(lists, {1, 1, 1, 1, 1}, {1, 1, 1, 1, 1}, 1, g, st));
    QVERIFY(!buildPreferenceGroup(lists, {-3, -2, -1, -5, -4}, {0, 0, 0, 0, 0}, 1, g, st));
    QCOMPARE(st.prompts, 5L);
    QCOMPARE(st.groups, 3L);
    QCOMPARE(st.ties, 1L);
    QCOMPARE(st.all_illegal, 1L);
    QCOMPARE(st.short_groups, 1L);
    QCOMPARE(st.negatives, 2L + 1L + 3L);
}

// ---- schedule and optimizer --------------------------------------------------------------------

void TstTrain::scheduleWarmsUpThenDecaysPolynomially()
{
    RECALIGN_FAST_ONLY();
    LrSchedule s;
    s.base_lr = 1e-3;
    s.end_lr = 1e-7;
    s.power = 2.0;
    s.warmup_steps = 4;
    s.total_steps = 20;
    QCOMPARE(s.lrAt(0), 0.0);
    QVERIFY(std::abs(s.lrAt(2) - 5e-4) < 1e-15);
    QVERIFY(std::abs(s.lrAt(4) - 1e-3) < 1e-15);
    // step 12: remaining = 1 - 8/16 = 0.5 -> (1e-3 - 1e-7) * 0.25 + 1e-7 = 2.50075e-4
    QVERIFY(std::abs(s.lrAt(12) - 2.50075e-4) < 1e-15);
    QVERIFY(std::abs(s.lrAt(20) - 1e-7) < 1e-18);
    QVERIFY(std::abs(s.lrAt(25) - 1e-7) < 1e-18);
    QCOMPARE(warmupFromRatio(800, 0.0125), 10L);
    QCOMPARE(warmupFromRatio(100, 0.0125), 2L);  // ceil(1.25)
}

void TstTrain::adamWDecaysOnlyMatrices()
{
    RECALIGN_FAST_ONLY();
    torch::nn::Linear lin(3, 2);
    std::vector<std::pair<std::string, torch::Tensor>> named;
    for (const auto& p : lin->named_parameters())
        named.emplace_back(p.key(), p.value());
    AdamWSettings s;
    s.weight_decay = 0.01;
    auto opt = makeAdamW(named, s);
    QCOMPARE(opt->param_groups().size(), size_t(2));
    const auto& g0 = static_cast<const torch::optim::AdamWOptions&>(opt->param_groups()[0].options());
    const auto& g1 = static_cast<const torch::optim::AdamWOptions&>(opt->param_groups()[1].options());
    QCOMPARE(opt->param_groups()[0].params().front().dim(), int64_t(2));
    QCOMPARE(g0.weight_decay(), 0.01);
    QCOMPARE(opt->param_groups()[1].params().front().dim(), int64_t(1));
    QCOMPARE(g1.weight_decay(), 0.0);
    setLearningRate(*opt, 0.5);
    QCOMPARE(g0.lr(), 0.5);
    QCOMPARE(g1.lr(), 0.5);
}

void TstTrain::fusedAdamWStepEqualsTorchs()
{
    RECALIGN_FAST_ONLY();
    // stepOptimizer's one-pass AdamW against torch's AdamW::step on the same parameters and
    // gradients: weight decay on the matrix only (makeAdamW's groups), five steps with the
    // bias corrections still far from 1, then two more by torch's step over the fused one's
    // moments (one state for both). amsgrad falls back to torch's step.
    for (const bool amsgrad : {false, true}) {
        torch::manual_seed(3);
        torch::nn::Linear ours(16, 8), theirs(16, 8);
        {
            torch::NoGradGuard ng;
            theirs->weight.copy_(ours->weight);
            theirs->bias.copy_(ours->bias);
        }
        auto optimizer = [&](torch::nn::Linear& lin) {
            std::vector<std::pair<std::string, torch::Tensor>> named;
            for (const auto& p : lin->named_parameters())
                named.emplace_back(p.key(), p.value());
            auto opt = makeAdamW(named, AdamWSettings{3e-2, 0.1, 0.9, 0.95, 1e-5});
            for (auto& g : opt->param_groups())
                static_cast<torch::optim::AdamWOptions&>(g.options()).amsgrad(amsgrad);
            return opt;
        };
        auto a = optimizer(ours), b = optimizer(theirs);
        const torch::Tensor initial = ours->weight.detach().clone();
        for (int step = 0; step < 7; ++step) {
            for (auto* lin : {&ours, &theirs}) {
                torch::manual_seed(100 + step);
                for (auto& p : (*lin)->parameters())
                    p.mutable_grad() = torch::randn(p.sizes());
            }
            if (step < 5)
                stepOptimizer(*a);
            else
                a->step();
            b->step();
            for (const auto& [x, y] : {std::pair{ours->weight, theirs->weight}, std::pair{ours->bias, theirs->bias}}) {
                const double gap = (x - y).abs().max().item<double>();
                QVERIFY2(gap <= 1e-6, ("step " + std::to_string(step) + ": " + std::to_string(gap)).c_str());
                if (amsgrad)
                    QCOMPARE(gap, 0.0);  // torch's own step
            }
        }
        QVERIFY((ours->weight - initial).abs().max().item<double>() > 0.1);  // it moved
        const auto& sa = static_cast<const torch::optim::AdamWParamState&>(
            *a->state().at(optimizerStateKey(a->state(), ours->weight)));
        const auto& sb = static_cast<const torch::optim::AdamWParamState&>(
            *b->state().at(optimizerStateKey(b->state(), theirs->weight)));
        QCOMPARE(sa.step(), int64_t(7));
        QCOMPARE(sb.step(), int64_t(7));
        QVERIFY((sa.exp_avg_sq() - sb.exp_avg_sq()).abs().max().item<double>() <= 1e-6);
    }
}

void TstTrain::gradientClippingReportsNormAndScales()
{
    RECALIGN_FAST_ONLY();
    auto a = torch::zeros({2}, torch::requires_grad());
    auto b = torch::zeros({1}, torch::requires_grad());
    a.mutable_grad() = torch::tensor({3.0f, 0.0f});
    b.mutable_grad() = torch::tensor({4.0f});
    const double norm = clipGradNorm({a, b}, 1.0);
    QVERIFY(std::abs(norm - 5.0) < 1e-6);
    QVERIFY(std::abs(a.grad()[0].item<double>() - 0.6) < 1e-5);
    QVERIFY(std::abs(b.grad()[0].item<double>() - 0.8) < 1e-5);
    // Under the threshold: untouched.
    QVERIFY(std::abs(clipGradNorm({a, b}, 10.0) - 1.0) < 1e-5);
    QVERIFY(std::abs(b.grad()[0].item<double>() - 0.8) < 1e-5);
}

// ---- checkpoints and the loop -----------------------------------------------------------------

namespace tst_train_detail {
struct TinyRegression {
    torch::nn::Sequential net{torch::nn::Linear(4, 8), torch::nn::Tanh(), torch::nn::Linear(8, 1)};
    std::unique_ptr<torch::optim::AdamW> opt;
    TrainRng rng{7};
    TinyRegression()
    {
        std::vector<std::pair<std::string, torch::Tensor>> named;
        for (const auto& p : net->named_parameters())
            named.emplace_back(p.key(), p.value());
        opt = makeAdamW(named, AdamWSettings{});
    }
    // One step on a batch drawn from both torch's RNG and the trainer RNG.
    double step()
    {
        const auto x = torch::randn({8, 4});
        const double shift = rng.uniform01();
        const auto y = x.sum(1, true) + shift;
        opt->zero_grad();
        auto loss = torch::mse_loss(net->forward(x), y);
        loss.backward();
        opt->step();
        return loss.item<double>();
    }
    void save(const std::string& path)
    {
        StateWriter w;
        w.putModule("model", *net);
        w.putOptimizer("optimizer", *opt);
        w.putTorchRng("rng/torch");
        w.putString("rng/data", rng.state());
        w.putInt("step", 42);
        w.putDouble("kl_coef", 0.25);
        w.commit(path);
    }
    void load(const std::string& path)
    {
        StateReader r(path);
        r.loadModule("model", *net);
        r.loadOptimizer("optimizer", *opt);
        r.loadTorchRng("rng/torch");
        rng.setState(r.getString("rng/data"));
        QCOMPARE(r.getInt("step"), int64_t(42));
        QCOMPARE(r.getDouble("kl_coef"), 0.25);
    }
};
}  // namespace tst_train_detail

void TstTrain::checkpointRoundTripResumesIdentically()
{
    RECALIGN_FAST_ONLY();
    QTemporaryDir dir;
    const std::string path = dir.filePath(QStringLiteral("ckpt/state.safetensors")).toStdString();
    torch::manual_seed(1);
    std::vector<double> straight;
    {
        TinyRegression a;
        for (int i = 0; i < 3; ++i)
            a.step();
        a.save(path);
        for (int i = 0; i < 4; ++i)
            straight.push_back(a.step());
    }
    torch::manual_seed(999);  // a different process state
    TinyRegression b;
    b.step();                 // and a different model/optimizer state
    b.load(path);
    for (int i = 0; i < 4; ++i)
        QCOMPARE(b.step(), straight[static_cast<size_t>(i)]);
    QVERIFY(!std::filesystem::exists(path + ".tmp"));
    StateReader r(path);
    bool threw = false;
    try {
        r.getInt("no/such/key");
    } catch (const CoreException& e) {
        threw = e.error().code == ErrorCode::CheckpointIO
            && std::string(e.what()).find("no/such/key") != std::string::npos;
    }
    QVERIFY(threw);
}

void TstTrain::failedCommitLeavesLastCheckpointIntact()
{
    RECALIGN_FAST_ONLY();
    QTemporaryDir dir;
    // A 253-byte name: the temporary beside it ("<name>.tmp<pid>-<n>") is longer than a file
    // name may be, so it cannot be written. The good checkpoint is written under a short name.
    const std::string path = dir.filePath(QString(250, QLatin1Char('c')) + QStringLiteral(".pt")).toStdString();
    {
        StateWriter w;
        w.putInt("step", 5);
        const std::string shortPath = dir.filePath(QStringLiteral("state.pt")).toStdString();
        w.commit(shortPath);
        std::filesystem::rename(shortPath, path);
    }
    bool threw = false;
    try {
        StateWriter w;
        w.putInt("step", 6);
        w.commit(path);
    } catch (const CoreException& e) {
        threw = e.error().code == ErrorCode::CheckpointIO;
    }
    QVERIFY(threw);
    QCOMPARE(StateReader(path).getInt("step"), int64_t(5));
}

void TstTrain::checkpointIsPlainSafetensors()
{
    RECALIGN_FAST_ONLY();
    QTemporaryDir dir;
    const std::string path = dir.filePath(QStringLiteral("state.safetensors")).toStdString();
    const auto bf = torch::tensor({1.5f, -2.25f}).to(torch::kBFloat16);
    const auto ids = torch::tensor(std::vector<int64_t>{std::numeric_limits<int64_t>::max(), -7}, torch::kLong);
    const double third = 1.0 / 3.0;
    {
        StateWriter w;
        w.putTensor("a/bf16", bf);
        w.putTensor("a/ids", ids);
        w.putTensor("a/scalar", torch::tensor(3.0f));
        w.putTensor("a/empty", torch::zeros({0, 4}));
        w.putTorchRng("rng/torch");
        w.putDouble("d/third", third);
        w.putDouble("d/nan", std::nan(""));
        w.putDouble("d/inf", -HUGE_VAL);
        w.putInt("i/big", std::numeric_limits<int64_t>::min());
        w.putString("s/text", "caf\xc3\xa9\n2");
        bool threw = false;
        try {
            w.putInt("i/big", 1);
        } catch (const CoreException&) {
            threw = true;  // a key is written once
        }
        QVERIFY(threw);
        w.commit(path);
    }
    // The file is a safetensors file any reader opens: u64 header length, JSON header with the
    // scalar values in __metadata__, tensors with their own dtypes.
    {
        std::ifstream in(path, std::ios::binary);
        unsigned char len[8];
        in.read(reinterpret_cast<char*>(len), 8);
        uint64_t n = 0;
        for (int i = 7; i >= 0; --i)
            n = (n << 8) | len[i];
        std::string header(n, ' ');
        in.read(header.data(), static_cast<std::streamsize>(n));
        const auto j = nlohmann::json::parse(header);
        QCOMPARE(j.at("a/bf16").at("dtype").get<std::string>(), std::string("BF16"));
        QCOMPARE(j.at("a/ids").at("dtype").get<std::string>(), std::string("I64"));
        QCOMPARE(j.at("rng/torch").at("dtype").get<std::string>(), std::string("U8"));
        QCOMPARE(j.at("a/scalar").at("shape").size(), size_t(0));
        QCOMPARE(j.at("__metadata__").at("format").get<std::string>(), std::string(kStateFileFormat));
        const auto values = nlohmann::json::parse(j.at("__metadata__").at("values").get<std::string>());
        QCOMPARE(values.at("i/big").get<int64_t>(), std::numeric_limits<int64_t>::min());
    }
    const StateReader r(path);
    QVERIFY(torch::equal(r.getTensor("a/bf16"), bf));
    QCOMPARE(r.getTensor("a/bf16").scalar_type(), torch::kBFloat16);
    QVERIFY(torch::equal(r.getTensor("a/ids"), ids));
    QCOMPARE(r.getTensor("a/scalar").dim(), int64_t(0));
    QCOMPARE(r.getTensor("a/empty").sizes().vec(), (std::vector<int64_t>{0, 4}));
    QCOMPARE(r.getDouble("d/third"), third);  // bit for bit
    QVERIFY(std::isnan(r.getDouble("d/nan")));
    QCOMPARE(r.getDouble("d/inf"), -HUGE_VAL);
    QCOMPARE(r.getInt("i/big"), std::numeric_limits<int64_t>::min());
    QCOMPARE(r.getString("s/text"), std::string("caf\xc3\xa9\n2"));
    QVERIFY(r.has("a/ids") && r.has("d/nan") && !r.has("nothing"));

    // A torch archive from an earlier version (a zip file) names the file and says what to do.
    const std::string old = dir.filePath(QStringLiteral("old.pt")).toStdString();
    {
        std::ofstream out(old, std::ios::binary);
        out << "PK\x03\x04 an old torch archive";
    }
    try {
        StateReader bad(old);
        QFAIL("a torch archive must not be read");
    } catch (const CoreException& e) {
        QCOMPARE(e.error().code, ErrorCode::CheckpointIO);
        const std::string msg = e.what();
        QVERIFY2(msg.find(old) != std::string::npos && msg.find("rerun the stage") != std::string::npos, e.what());
    }
    // A safetensors file that is not a checkpoint (a model's weights) says so.
    const std::string weights = dir.filePath(QStringLiteral("model.safetensors")).toStdString();
    const float one = 1.0f;
    writeSafetensors(weights, {{"w", StDtype::F32, {1}, &one}});
    try {
        StateReader bad(weights);
        QFAIL("a weights file is not a checkpoint");
    } catch (const CoreException& e) {
        QVERIFY2(std::string(e.what()).find("not a RecAlign Studio checkpoint") != std::string::npos, e.what());
    }
}

void TstTrain::nanLossStopsWithDivergedNamingStep()
{
    RECALIGN_FAST_ONLY();
    RecordingObserver obs;
    auto p = torch::ones({2}, torch::requires_grad());
    torch::optim::AdamW opt({p}, torch::optim::AdamWOptions(0.1));
    TrainLoopConfig cfg;
    cfg.stage = "sft_v1";
    cfg.schedule.base_lr = 0.1;
    cfg.schedule.total_steps = 10;
    TrainLoop loop(cfg, obs, opt, {p});
    loop.setLastCheckpoint("/runs/x/ckpt.pt");
    for (int i = 0; i < 2; ++i) {
        auto loss = (p * p).sum();
        QVERIFY(loop.acceptLoss(loss.item<double>()));
        loss.backward();
        QVERIFY(loop.optimizerStep().applied);
    }
    QCOMPARE(loop.step(), 2L);
    try {
        loop.acceptLoss(std::nan(""));
        QFAIL("expected Diverged");
    } catch (const CoreException& e) {
        QCOMPARE(int(e.error().code), int(ErrorCode::Diverged));
        const std::string msg = e.what();
        QVERIFY2(msg.find("step 3") != std::string::npos, e.what());
        QVERIFY2(msg.find("/runs/x/ckpt.pt") != std::string::npos, e.what());
    }
    // Inf gradient norm is caught too.
    p.mutable_grad() = torch::tensor({std::numeric_limits<float>::infinity(), 0.0f});
    bool threw = false;
    try {
        loop.optimizerStep();
    } catch (const CoreException& e) {
        threw = e.error().code == ErrorCode::Diverged;
    }
    QVERIFY(threw);
}

void TstTrain::nanLossCanSkipTheBatch()
{
    RECALIGN_FAST_ONLY();
    RecordingObserver obs;
    auto p = torch::ones({2}, torch::requires_grad());
    torch::optim::AdamW opt({p}, torch::optim::AdamWOptions(0.1));
    TrainLoopConfig cfg;
    cfg.on_non_finite = NonFinitePolicy::SkipBatch;
    TrainLoop loop(cfg, obs, opt, {p});
    QVERIFY(!loop.acceptLoss(std::numeric_limits<double>::infinity()));
    QCOMPARE(loop.skipped(), 1L);
    QCOMPARE(loop.step(), 0L);
    QCOMPARE(obs.logs.size(), size_t(1));
    p.mutable_grad() = torch::tensor({std::nanf(""), 0.0f});
    const auto before = p.detach().clone();
    QVERIFY(!loop.optimizerStep().applied);
    QVERIFY(torch::equal(before, p.detach()));
    QCOMPARE(loop.skipped(), 2L);
}

void TstTrain::stopRequestCancels()
{
    RECALIGN_FAST_ONLY();
    RecordingObserver obs;
    auto p = torch::ones({1}, torch::requires_grad());
    torch::optim::AdamW opt({p}, torch::optim::AdamWOptions(0.1));
    TrainLoop loop(TrainLoopConfig{}, obs, opt, {p});
    loop.checkCancel();  // no request yet
    obs.stopAfterSteps = 0;
    try {
        loop.checkCancel();
        QFAIL("expected Cancelled");
    } catch (const CoreException& e) {
        QCOMPARE(int(e.error().code), int(ErrorCode::Cancelled));
    }
}

// ---- PPO ---------------------------------------------------------------------------------------

namespace tst_train_detail {

const std::string kStoriesDir = std::string(RECALIGN_SHARED_DIR) + "/models/stories260K";

llm::LoadedModel loadStories()
{
    return llm::loadAnyModel(kStoriesDir + "/stories260K.bin", kStoriesDir + "/tok512.model");
}

// A tiny Llama geometry (vocabulary 32, EOS = 2 without a tokenizer).
llm::LlamaConfig toyConfig()
{
    llm::LlamaConfig c;
    c.dim = 32;
    c.hidden_dim = 64;
    c.n_layers = 2;
    c.n_heads = 4;
    c.n_kv_heads = 2;
    c.vocab_size = 32;
    c.max_seq_len = 64;
    return c;
}

// A tiny random Llama of that geometry.
llm::LlamaModel toyModel(uint64_t seed)
{
    llm::LlamaModel m(toyConfig());
    llm::initLlamaWeights(*m, seed);
    m->eval();
    return m;
}

// Prompts of the toy task: BOS + 3..6 tokens from 3..31, deterministic in (episode, index).
std::vector<PpoPrompt> toyPrompts(int episode, int count)
{
    std::vector<PpoPrompt> out;
    TrainRng rng(1000 + static_cast<uint64_t>(episode));
    for (int i = 0; i < count; ++i) {
        PpoPrompt p;
        p.ids.push_back(1);
        const int n = rng.uniformInt(3, 6);
        for (int j = 0; j < n; ++j)
            p.ids.push_back(rng.uniformInt(3, 31));
        p.task = "toy";
        p.text = "toy prompt " + std::to_string(i);
        out.push_back(p);
    }
    return out;
}

// Reward = the number of `target` tokens in the response, on the final token.
class CountTokenReward : public PpoReward {
public:
    explicit CountTokenReward(int32_t target) : m_target(target) {}
    int calls = 0;
    int nanAtCall = -1;  // 1-based call whose scores are NaN
    std::vector<PpoScore> score(const std::vector<PpoPrompt>&, const std::vector<PpoResponse>& responses) override
    {
        ++calls;
        std::vector<PpoScore> out;
        for (const auto& r : responses) {
            PpoScore s;
            const double n = static_cast<double>(std::count(r.tokens.begin(), r.tokens.end(), m_target));
            s.token_scores = placeTokenScores(static_cast<int>(r.tokens.size()), {}, {}, n);
            if (calls == nanAtCall)
                s.token_scores.front() = std::nanf("");
            s.list_reward = n;
            s.items = static_cast<int>(n);  // each target token is a legal "item" (DPO drops prompts without any)
            s.text = std::to_string(r.tokens.size()) + " tokens";
            s.details_json = "{\"count\": " + std::to_string(n) + "}";
            out.push_back(std::move(s));
        }
        return out;
    }

private:
    int32_t m_target;
};

PpoTrainConfig toyPpoConfig()
{
    PpoTrainConfig c;  // hyper starts from the schema's defaults
    PpoConfig& h = c.hyper;
    c.stage = "ppo_toy";
    for (LoraConfig* spec : {&h.actor_lora, &h.critic_lora}) {
        spec->r = 8;
        spec->alpha = 16;
        spec->targets = {"all"};
    }
    h.prompts_per_batch = 8;
    h.samples_per_prompt = 2;
    h.temperature = 1.0;
    h.top_k = 0;
    c.max_new_tokens = 8;
    h.kl_coef = 0.05;
    h.whiten_rewards = false;
    h.lr = 3e-3;
    h.warmup_steps = 0;
    c.end_lr = 3e-3;
    h.ppo_epochs = 4;
    c.mini_batch = 4;
    h.grad_accum = 1;
    h.ent_coef = 0.0;
    h.policy_kl_threshold = 0.0;
    h.grad_clip = 1.0;
    h.episodes = 1000;
    c.seed = 3;
    return c;
}

std::vector<double> series(const RecordingObserver& obs, const std::string& name)
{
    std::vector<double> out;
    for (size_t i = 0; i < obs.steps.size(); ++i)
        out.push_back(obs.metric(i, name));
    return out;
}

double meanOf(const std::vector<double>& v, size_t begin, size_t end)
{
    double s = 0;
    for (size_t i = begin; i < end; ++i)
        s += v[i];
    return s / static_cast<double>(end - begin);
}

// Runs the toy PPO for `iterations` and returns the observer.
// A critic-free toy run: four prompts of four sampled responses (the same 16 rows as PPO's).
PpoTrainConfig toyCriticFreeConfig(RlAlgorithm algorithm, bool dr = false)
{
    auto cfg = toyPpoConfig();
    cfg.stage = std::string(rlAlgorithmName(algorithm)) + "_toy";
    cfg.hyper.algorithm = algorithm;
    cfg.hyper.dr_grpo = dr;
    cfg.hyper.prompts_per_batch = 4;
    cfg.hyper.samples_per_prompt = 4;
    return cfg;
}

void runToyPpo(RecordingObserver& obs, long iterations, const std::string& dir = {}, uint64_t modelSeed = 11,
               PpoTrainConfig cfg = toyPpoConfig())
{
    auto model = toyModel(modelSeed);
    CountTokenReward reward(7);
    cfg.hyper.max_iterations = iterations;
    cfg.output_dir = dir;
    PpoTrainer trainer(*model, nullptr, cfg, [](int e) { return toyPrompts(e, 16); }, reward, obs);
    trainer.run();
}

std::vector<std::vector<int32_t>> storyPrompts(const Tokenizer& tok)
{
    std::vector<std::vector<int32_t>> out;
    for (const char* text : {"Once upon a time", "Tim and Sue went to the park", "The little dog", "One day"}) {
        auto ids = tok.encode(text);
        ids.insert(ids.begin(), tok.bosId());
        out.push_back(ids);
    }
    return out;
}

const std::vector<std::string> kStoryTitles = {"The Big Dog", "A Little Cat", "Tim and Sue", "The Red Ball",
                                               "Lily and the Bird"};

// generate() log-probs against one packed full forward (scoreSequences), per token.
double maxLogprobGap(llm::LlamaModelImpl& model, const Tokenizer& tok, const llm::TitleConstraint* constraint,
                     double temperature)
{
    const auto prompts = storyPrompts(tok);
    llm::GenerationConfig g;
    g.max_new_tokens = 24;
    g.temperature = temperature;
    g.top_k = temperature > 0 ? 20 : 0;
    g.seed = 5;
    g.constraint = constraint;
    g.stop_token_ids = {tok.eosId()};
    const auto gen = llm::generate(model, prompts, g, &tok);
    torch::NoGradGuard noGrad;
    const auto packed = packSequences(prompts, gen.tokens, tok.padId(), torch::kCPU);
    ScoreOptions so;
    so.temperatures = torch::full({static_cast<int64_t>(prompts.size())}, temperature > 0 ? temperature : 1.0);
    if (constraint)
        so.allowed = llm::constraintMasks(*constraint, gen.tokens, model.config().vocab_size, packed.response_columns);
    const auto r = scoreSequences(model, packed, so);
    double gap = 0;
    for (size_t b = 0; b < prompts.size(); ++b)
        for (size_t j = 0; j < gen.tokens[b].size(); ++j)
            gap = std::max(gap, std::abs(static_cast<double>(gen.logprobs[b][j])
                                         - r.logprobs[static_cast<int64_t>(b)][static_cast<int64_t>(j)].item<double>()));
    return gap;
}

}  // namespace tst_train_detail

void TstTrain::rolloutLogprobsMatchLearningLogprobs()
{
    RECALIGN_FAST_ONLY();
    auto lm = loadStories();
    lm.model->eval();
    // Sampled (temperature 0.7, top-k 20: log-probs of the tempered distribution) and greedy.
    const double sampled = maxLogprobGap(*lm.model, lm.tokenizer, nullptr, 0.7);
    const double greedy = maxLogprobGap(*lm.model, lm.tokenizer, nullptr, 0.0);
    QVERIFY2(sampled < 1e-4, std::to_string(sampled).c_str());
    QVERIFY2(greedy < 1e-4, std::to_string(greedy).c_str());
}

void TstTrain::sharedPromptScoringEqualsPackedScoring()
{
    // scoreWithSharedPrompt (the prompt's forward once, then each response from its KV cache)
    // against scoreSequences over the packed rows: log-probs under a title constraint and a
    // temperature, entropies, and a value head's values (an active adapter), responses of
    // different lengths (one of a single token).
    RECALIGN_FAST_ONLY();
    auto lm = loadStories();
    lm.model->eval();
    llm::LoraSpec spec;
    spec.r = 4;
    spec.alpha = 8;
    spec.targets = llm::parseLoraTargets({"q", "v", "down"});
    spec.seed = 3;
    lm.model->addAdapter("critic", spec);
    {
        torch::NoGradGuard ng;
        for (auto& p : lm.model->adapterParameters("critic"))
            p.normal_(0.0, 0.05);
    }
    ValueHead head(lm.model->config().dim, 64, 7);
    llm::TitleConstraintOptions opt;
    opt.max_items = 3;
    llm::TitleConstraint tc(lm.tokenizer, kStoryTitles, opt);
    const auto prompt = storyPrompts(lm.tokenizer).front();
    llm::GenerationConfig g;
    g.max_new_tokens = 20;
    g.temperature = 0.7;
    g.constraint = &tc;
    std::vector<std::vector<int32_t>> responses;
    for (uint64_t seed : {1, 2, 3}) {
        g.seed = seed;
        responses.push_back(llm::generate(*lm.model, {prompt}, g, &lm.tokenizer).tokens.front());
    }
    responses.push_back({responses.front().front()});
    torch::NoGradGuard noGrad;
    const auto packed = packSequences(std::vector<std::vector<int32_t>>(responses.size(), prompt), responses,
                                      lm.tokenizer.padId(), torch::kCPU);
    ScoreOptions so;
    so.temperatures = torch::tensor(std::vector<float>{0.7f, 0.7f, 1.0f, 0.7f});
    so.allowed = llm::constraintMasks(tc, responses, lm.model->config().vocab_size, packed.response_columns);
    so.want_entropy = true;
    ScoreOptions vo;
    vo.adapter = "critic";
    vo.want_logprobs = false;
    vo.value_head = head.get();
    const auto full = scoreSequences(*lm.model, packed, so), shared =
        scoreWithSharedPrompt(*lm.model, prompt, responses, lm.tokenizer.padId(), so);
    const auto fullValues = scoreSequences(*lm.model, packed, vo),
               sharedValues = scoreWithSharedPrompt(*lm.model, prompt, responses, lm.tokenizer.padId(), vo);
    QCOMPARE(shared.logprobs.sizes(), full.logprobs.sizes());
    QVERIFY(full.logprobs.abs().sum().item<double>() > 0.0);
    QVERIFY(torch::allclose(shared.logprobs, full.logprobs, 1e-4, 1e-5));
    QVERIFY(torch::allclose(shared.entropy, full.entropy, 1e-4, 1e-5));
    QCOMPARE(sharedValues.values.sizes(), fullValues.values.sizes());
    QVERIFY(fullValues.values.abs().sum().item<double>() > 0.0);
    QVERIFY(torch::allclose(sharedValues.values, fullValues.values, 1e-4, 1e-5));
    // Padding is masked: the single-token response has one value and one log-prob.
    QCOMPARE(packed.mask[3].sum().item<double>(), 1.0);
    QCOMPARE(shared.logprobs[3].slice(0, 1).abs().sum().item<double>(), 0.0);
}

void TstTrain::rolloutLogprobsMatchUnderConstrainedDecoding()
{
    RECALIGN_FAST_ONLY();
    auto lm = loadStories();
    lm.model->eval();
    llm::TitleConstraintOptions opt;
    opt.max_items = 3;
    llm::TitleConstraint tc(lm.tokenizer, kStoryTitles, opt);
    const double gap = maxLogprobGap(*lm.model, lm.tokenizer, &tc, 0.7);
    QVERIFY2(gap < 1e-4, std::to_string(gap).c_str());
    // Without the rebuilt masks the log-probs differ: the mask matters.
    const auto prompts = storyPrompts(lm.tokenizer);
    llm::GenerationConfig g;
    g.max_new_tokens = 16;
    g.temperature = 0.7;
    g.seed = 5;
    g.constraint = &tc;
    const auto gen = llm::generate(*lm.model, prompts, g, &lm.tokenizer);
    torch::NoGradGuard noGrad;
    const auto packed = packSequences(prompts, gen.tokens, lm.tokenizer.padId(), torch::kCPU);
    ScoreOptions so;
    so.temperatures = torch::full({4}, 0.7);
    const auto unmasked = scoreSequences(*lm.model, packed, so);
    QVERIFY(std::abs(unmasked.logprobs[0][0].item<double>() - gen.logprobs[0][0]) > 1e-3);
}

void TstTrain::ppoRatioIsOneAtFirstEpoch()
{
    RECALIGN_FAST_ONLY();
    for (int variant = 0; variant < 4; ++variant) {
        // 0: free decoding, one micro-batch; 1: constrained; 2: free, micro-batches of one row
        // (the learning forward pads differently from the rollout's scoring forward); 3: as 0 with
        // bfloat16 products (model.compute_dtype): the scoring and learning forwards share them.
        const bool constrained = variant == 1;
        auto lm = loadStories();
        if (variant == 3)
            lm.model->setComputeDtype(torch::kBFloat16);
        llm::TitleConstraintOptions opt;
        opt.max_items = 3;
        llm::TitleConstraint tc(lm.tokenizer, kStoryTitles, opt);
        const auto prompts = storyPrompts(lm.tokenizer);
        CountTokenReward reward(lm.tokenizer.encode("Dog").back());
        auto cfg = toyPpoConfig();
        cfg.max_new_tokens = 16;
        cfg.hyper.temperature = 0.7;
        cfg.hyper.top_k = 20;
        cfg.constraint = constrained ? &tc : nullptr;
        cfg.hyper.max_iterations = 2;
        cfg.hyper.ppo_epochs = 1;
        cfg.mini_batch = variant == 2 ? 1 : 8;  // 8 = one micro-batch: every ratio is measured before any update
        RecordingObserver obs;
        PpoTrainer trainer(*lm.model, &lm.tokenizer, cfg,
                           [&](int) {
                               std::vector<PpoPrompt> ps;
                               for (const auto& ids : prompts)
                                   ps.push_back({ids, "story", "story", nullptr});
                               return ps;
                           },
                           reward, obs);
        trainer.run();
        QCOMPARE(obs.steps.size(), size_t(2));
        for (size_t i = 0; i < obs.steps.size(); ++i) {
            const double dev = obs.metric(i, "ppo/policy/first_ratio_dev");
            qInfo("variant %d iteration %zu: max |ratio - 1| at the first micro-batch = %.3g", variant, i, dev);
            QVERIFY2(dev < 1e-4, (std::to_string(variant) + ": " + std::to_string(dev)).c_str());
            if (variant == 2)
                continue;  // later micro-batches follow updates
            // One micro-batch holding the rollout's rows: the ratio is exactly 1 (same products).
            QCOMPARE(dev, 0.0);
            QCOMPARE(obs.metric(i, "ppo/policy/ratio"), 1.0);
            QCOMPARE(obs.metric(i, "ppo/policy/clipfrac"), 0.0);
            QVERIFY(obs.metric(i, "ppo/policy/approxkl") < 1e-9);
        }
        // The first iteration's KL is exactly 0 (a fresh actor LoRA has B = 0).
        QVERIFY(std::abs(obs.metric(0, "objective/kl")) < 1e-5);
    }
}

void TstTrain::ppoConcurrentPassesGiveTheSerialResults()
{
    // With a budget of two threads the actor's and the critic's passes (and the rollout's scoring
    // batches) run on two threads, each single-threaded: the same products as the serial run on
    // one thread, so every metric and sample is identical.
    RecordingObserver serial, concurrent;
    runToyPpo(serial, 4);
    setComputeThreads(2, 1);
    runToyPpo(concurrent, 4);
    setComputeThreads(1, 1);
    auto said = [](const RecordingObserver& o) {
        for (const auto& l : o.logs)
            if (l.find("run on two threads at once") != std::string::npos)
                return true;
        return false;
    };
    QVERIFY(!said(serial));
    QVERIFY(said(concurrent));
    QCOMPARE(concurrent.steps.size(), serial.steps.size());
    for (size_t i = 0; i < serial.steps.size(); ++i) {
        QCOMPARE(concurrent.steps[i].metrics.size(), serial.steps[i].metrics.size());
        for (size_t k = 0; k < serial.steps[i].metrics.size(); ++k) {
            const auto& [name, value] = serial.steps[i].metrics[k];
            if (name.rfind("time/", 0) == 0)
                continue;
            QCOMPARE(concurrent.steps[i].metrics[k].first, name);
            const double got = concurrent.steps[i].metrics[k].second;
            QVERIFY2(got == value || (std::isnan(got) && std::isnan(value)),
                     (name + " at iteration " + std::to_string(i) + ": " + std::to_string(got) + " vs "
                      + std::to_string(value)).c_str());
        }
    }
    QCOMPARE(concurrent.samples.size(), serial.samples.size());
}

void TstTrain::ppoRaisesToyRewardQuickly()
{
    RECALIGN_FAST_ONLY();
    RecordingObserver obs;
    runToyPpo(obs, 24);
    const auto reward = series(obs, "env/reward_mean");
    const auto kl = series(obs, "objective/kl");
    const double first = meanOf(reward, 0, 4);
    const double last = meanOf(reward, reward.size() - 4, reward.size());
    const std::string msg = "reward " + std::to_string(first) + " -> " + std::to_string(last) + ", KL "
        + std::to_string(*std::min_element(kl.begin(), kl.end())) + " .. "
        + std::to_string(*std::max_element(kl.begin(), kl.end()));
    qInfo("%s", msg.c_str());
    QVERIFY2(last > first + 1.0 && last > 2.0 * first, msg.c_str());
    for (double k : kl)
        QVERIFY2(k > -0.05, std::to_string(k).c_str());
    QVERIFY(meanOf(kl, 0, kl.size()) > 0.0);
    QVERIFY(obs.samples.size() == 2 * 24);
}

void TstTrain::ppoRaisesToyRewardOverManyIterations()
{
    RECALIGN_SLOW_ONLY();
    RecordingObserver obs;
    runToyPpo(obs, 80);
    const auto reward = series(obs, "env/reward_mean");
    const auto kl = series(obs, "objective/kl");
    const double first = meanOf(reward, 0, 5);
    const double last = meanOf(reward, reward.size() - 5, reward.size());
    const std::string msg = "reward " + std::to_string(first) + " -> " + std::to_string(last) + ", mean KL "
        + std::to_string(meanOf(kl, 0, kl.size()));
    qInfo("%s", msg.c_str());
    QVERIFY2(last > first + 2.0, msg.c_str());
    QVERIFY(meanOf(kl, 0, kl.size()) >= 0.0);
}

void TstTrain::criticFreeAlgorithmsRaiseToyReward()
{
    RECALIGN_FAST_ONLY();
    // The same toy task, budget and criterion as ppoRaisesToyRewardQuickly.
    for (auto [alg, dr] : {std::pair{RlAlgorithm::Grpo, false}, std::pair{RlAlgorithm::Grpo, true},
                           std::pair{RlAlgorithm::Rloo, false}, std::pair{RlAlgorithm::ReinforcePp, false}}) {
        RecordingObserver obs;
        runToyPpo(obs, 24, {}, 11, toyCriticFreeConfig(alg, dr));
        const auto reward = series(obs, "env/reward_mean");
        const double first = meanOf(reward, 0, 4);
        const double last = meanOf(reward, reward.size() - 4, reward.size());
        const std::string msg = std::string(rlAlgorithmName(alg)) + (dr ? " (Dr.)" : "") + ": reward "
            + std::to_string(first) + " -> " + std::to_string(last) + ", frac_reward_zero_std "
            + std::to_string(meanOf(series(obs, "env/frac_reward_zero_std"), 0, reward.size()));
        qInfo("%s", msg.c_str());
        QVERIFY2(last > first + 1.0 && last > 2.0 * first, msg.c_str());
        // No critic: no value metrics; grpo's KL is a loss term, the others' a reward penalty.
        QVERIFY(std::isnan(obs.metric(0, "ppo/val/loss")));
        QCOMPARE(std::isnan(obs.metric(0, "objective/kl_loss")), alg != RlAlgorithm::Grpo);
        QVERIFY(!std::isnan(obs.metric(0, "env/group_reward_std")));
        bool said = false;
        for (const auto& l : obs.logs)
            said = said || l.find("critic-free") != std::string::npos;
        QVERIFY(said);
    }
}

void TstTrain::grpoResumeReproducesUninterruptedRun()
{
    RECALIGN_FAST_ONLY();
    QTemporaryDir dirA, dirB;
    const auto cfg0 = toyCriticFreeConfig(RlAlgorithm::Grpo);
    RecordingObserver straight;
    runToyPpo(straight, 4, dirA.path().toStdString(), 11, cfg0);
    {
        auto model = toyModel(11);
        CountTokenReward reward(7);
        auto cfg = cfg0;
        cfg.hyper.max_iterations = 4;
        cfg.output_dir = dirB.path().toStdString();
        cfg.checkpoint_on_cancel = false;
        RecordingObserver obs;
        obs.stopAfterSteps = 2;
        PpoTrainer trainer(*model, nullptr, cfg, [](int e) { return toyPrompts(e, 16); }, reward, obs);
        QVERIFY_THROWS_EXCEPTION(CoreException, trainer.run());
    }
    RecordingObserver resumed;
    runToyPpo(resumed, 4, dirB.path().toStdString(), 11, cfg0);
    QCOMPARE(resumed.steps.size(), size_t(2));
    for (size_t i = 0; i < 2; ++i)
        for (size_t k = 0; k < straight.steps[i + 2].metrics.size(); ++k) {
            const auto& [name, value] = straight.steps[i + 2].metrics[k];
            if (name.rfind("time/", 0) == 0)
                continue;
            QCOMPARE(resumed.steps[i].metrics[k].first, name);
            QVERIFY2(resumed.steps[i].metrics[k].second == value, name.c_str());
        }
    // A GRPO checkpoint holds no value head; a PPO configuration refuses it.
    auto model = toyModel(11);
    CountTokenReward reward(7);
    auto cfg = toyPpoConfig();
    cfg.hyper.max_iterations = 5;
    cfg.output_dir = dirB.path().toStdString();
    RecordingObserver obs;
    PpoTrainer trainer(*model, nullptr, cfg, [](int e) { return toyPrompts(e, 16); }, reward, obs);
    QVERIFY_THROWS_EXCEPTION(CoreException, trainer.run());
}

// The toy counting task for DPO / S-DPO: eight sampled lists per prompt ranked by the count.
DpoTrainConfig toyDpoConfig(bool sdpo)
{
    DpoTrainConfig c;
    c.sdpo = sdpo;
    c.ppo.actor_lora.r = 8;
    c.ppo.actor_lora.alpha = 16;
    c.ppo.actor_lora.targets = {"all"};
    c.hyper.beta = 0.1;
    c.hyper.negatives = 3;
    c.hyper.samples_per_prompt = 8;
    c.hyper.lr = 3e-3;
    c.hyper.epochs = 3;
    c.hyper.grad_accum = 2;
    c.hyper.warmup_steps = 0;
    c.ppo.temperature = 1.0;
    c.ppo.top_k = 0;
    c.max_new_tokens = 8;
    c.seed = 3;
    c.stage = sdpo ? "sdpo_toy" : "dpo_toy";
    return c;
}

// Mean reward of four sampled responses per toy prompt under `adapter` ("" = the reference).
double sampledReward(llm::LlamaModelImpl& model, const std::string& adapter, PpoReward& reward)
{
    const auto prompts = toyPrompts(0, 16);
    std::vector<std::vector<int32_t>> ids;
    for (const auto& p : prompts)
        ids.push_back(p.ids);
    double sum = 0;
    long n = 0;
    for (int k = 0; k < 4; ++k) {
        llm::GenerationConfig g;
        g.max_new_tokens = 8;
        g.temperature = 1.0;
        g.seed = 1000 + static_cast<uint64_t>(k);
        g.adapter = adapter;
        const auto gen = llm::generate(model, ids, g);
        std::vector<PpoResponse> rs;
        for (size_t i = 0; i < ids.size(); ++i)
            rs.push_back({i, false, gen.tokens[i]});
        for (const auto& sc : reward.score(prompts, rs)) {
            sum += sc.list_reward;
            ++n;
        }
    }
    return sum / static_cast<double>(n);
}

void TstTrain::dpoAndSdpoRaiseToyReward()
{
    RECALIGN_FAST_ONLY();
    for (bool sdpo : {false, true}) {
        auto model = toyModel(11);
        CountTokenReward reward(7);
        RecordingObserver obs;
        const double before = sampledReward(*model, "", reward);
        // 48 prompts x 8 lists: the 384 sampled responses PPO's 24 toy iterations see (with 16
        // prompts, 128 responses, DPO went from 0.19 to 0.42 only).
        DpoTrainer trainer(*model, nullptr, toyDpoConfig(sdpo), toyPrompts(1, 48), reward, obs);
        const DpoResult r = trainer.run();
        const double after = sampledReward(*model, kPpoActorAdapter, reward);
        const auto margins = series(obs, "rewards/margins");
        const std::string msg = std::string(sdpo ? "sdpo" : "dpo") + ": sampled reward " + std::to_string(before)
            + " -> " + std::to_string(after) + "; " + std::to_string(r.data.groups) + " groups of "
            + std::to_string(r.data.prompts) + " prompts (" + std::to_string(r.data.ties) + " tied, "
            + std::to_string(r.data.all_illegal) + " all illegal); margin " + std::to_string(margins.front()) + " -> "
            + std::to_string(margins.back()) + ", final loss " + std::to_string(r.last_loss);
        qInfo("%s", msg.c_str());
        QVERIFY2(r.data.groups > 0 && r.steps > 0, msg.c_str());
        QVERIFY2(after > before + 0.5, msg.c_str());
        QVERIFY2(margins.back() > 0.1, msg.c_str());
        // The first step's groups are scored before any update: the actor (B = 0) is the reference.
        QVERIFY2(std::abs(margins.front()) < 1e-6, msg.c_str());
    }
}

void TstTrain::dpoResumeReproducesUninterruptedRun()
{
    RECALIGN_FAST_ONLY();
    QTemporaryDir dirA, dirB;
    auto runTo = [](const std::string& dir, long stopAfter, RecordingObserver& obs) {
        auto model = toyModel(11);
        CountTokenReward reward(7);
        auto cfg = toyDpoConfig(true);
        cfg.output_dir = dir;
        obs.stopAfterSteps = stopAfter;
        DpoTrainer trainer(*model, nullptr, cfg, toyPrompts(0, 16), reward, obs);
        trainer.run();
    };
    RecordingObserver straight;
    runTo(dirA.path().toStdString(), -1, straight);
    const size_t perEpoch = straight.steps.size() / 3;
    // Killed inside the second epoch: the resumed stage reruns it from the first epoch's
    // checkpoint, with the preferences sampled before (no sampling again).
    RecordingObserver killed;
    QVERIFY_THROWS_EXCEPTION(CoreException, runTo(dirB.path().toStdString(), static_cast<long>(perEpoch + 1), killed));
    RecordingObserver resumed;
    runTo(dirB.path().toStdString(), -1, resumed);
    bool reused = false;
    for (const auto& l : resumed.logs)
        reused = reused || l.find("preference groups from '") != std::string::npos;
    QVERIFY(reused);
    QCOMPARE(resumed.steps.size(), straight.steps.size() - perEpoch);
    for (size_t i = 0; i < resumed.steps.size(); ++i)
        for (size_t k = 0; k < resumed.steps[i].metrics.size(); ++k)
            QVERIFY2(resumed.steps[i].metrics[k].second == straight.steps[i + perEpoch].metrics[k].second,
                     (resumed.steps[i].metrics[k].first + " at step " + std::to_string(i)).c_str());
}

void TstTrain::ppoResumeReproducesUninterruptedRun()
{
    RECALIGN_FAST_ONLY();
    QTemporaryDir dirA, dirB;
    RecordingObserver straight;
    runToyPpo(straight, 6, dirA.path().toStdString());
    // Interrupted after iteration 3, checkpoints every 2 iterations and none on cancel: the
    // resumed run starts from iteration 2, as after a SIGKILL.
    {
        auto model = toyModel(11);
        CountTokenReward reward(7);
        auto cfg = toyPpoConfig();
        cfg.hyper.max_iterations = 6;
        cfg.output_dir = dirB.path().toStdString();
        cfg.checkpoint_every = 2;
        cfg.checkpoint_on_cancel = false;
        RecordingObserver obs;
        obs.stopAfterSteps = 3;
        PpoTrainer trainer(*model, nullptr, cfg, [](int e) { return toyPrompts(e, 16); }, reward, obs);
        try {
            trainer.run();
            QFAIL("expected Cancelled");
        } catch (const CoreException& e) {
            QCOMPARE(int(e.error().code), int(ErrorCode::Cancelled));
        }
        QCOMPARE(obs.steps.size(), size_t(3));
    }
    RecordingObserver resumed;
    {
        auto model = toyModel(11);
        CountTokenReward reward(7);
        auto cfg = toyPpoConfig();
        cfg.hyper.max_iterations = 6;
        cfg.output_dir = dirB.path().toStdString();
        PpoTrainer trainer(*model, nullptr, cfg, [](int e) { return toyPrompts(e, 16); }, reward, resumed);
        const auto r = trainer.run();
        QCOMPARE(r.iterations, 6L);
    }
    QCOMPARE(resumed.steps.size(), size_t(4));
    for (size_t i = 0; i < resumed.steps.size(); ++i) {
        const auto& a = straight.steps[i + 2];
        const auto& b = resumed.steps[i];
        QCOMPARE(b.step, a.step);
        QCOMPARE(a.metrics.size(), b.metrics.size());
        for (size_t k = 0; k < a.metrics.size(); ++k) {
            if (a.metrics[k].first.rfind("time/", 0) == 0)
                continue;
            if (a.metrics[k].second != b.metrics[k].second && !(std::isnan(a.metrics[k].second) && std::isnan(b.metrics[k].second))) {
                const std::string msg = "step " + std::to_string(a.step) + " " + a.metrics[k].first + ": "
                    + std::to_string(a.metrics[k].second) + " vs " + std::to_string(b.metrics[k].second);
                QFAIL(msg.c_str());
            }
        }
    }
}

void TstTrain::ppoNanRewardStopsAndKeepsCheckpoint()
{
    RECALIGN_FAST_ONLY();
    QTemporaryDir dir;
    auto model = toyModel(11);
    CountTokenReward reward(7);
    reward.nanAtCall = 3;
    auto cfg = toyPpoConfig();
    cfg.hyper.max_iterations = 6;
    cfg.output_dir = dir.path().toStdString();
    RecordingObserver obs;
    PpoTrainer trainer(*model, nullptr, cfg, [](int e) { return toyPrompts(e, 16); }, reward, obs);
    try {
        trainer.run();
        QFAIL("expected Diverged");
    } catch (const CoreException& e) {
        QCOMPARE(int(e.error().code), int(ErrorCode::Diverged));
        const std::string msg = e.what();
        QVERIFY2(msg.find("step 3") != std::string::npos, e.what());
        QVERIFY2(msg.find(trainer.checkpointPath()) != std::string::npos, e.what());
    }
    StateReader r(trainer.checkpointPath());
    QCOMPARE(r.getInt("ppo/iteration"), int64_t(2));
    for (const auto& [name, t] : r.getNamedTensors("params"))
        QVERIFY(torch::isfinite(t).all().item<bool>());
}

void TstTrain::ppoStopRequestCancels()
{
    RECALIGN_FAST_ONLY();
    QTemporaryDir dir;
    auto model = toyModel(11);
    CountTokenReward reward(7);
    auto cfg = toyPpoConfig();
    cfg.hyper.max_iterations = 6;
    cfg.output_dir = dir.path().toStdString();
    RecordingObserver obs;
    obs.stopAfterSteps = 1;
    PpoTrainer trainer(*model, nullptr, cfg, [](int e) { return toyPrompts(e, 16); }, reward, obs);
    try {
        trainer.run();
        QFAIL("expected Cancelled");
    } catch (const CoreException& e) {
        QCOMPARE(int(e.error().code), int(ErrorCode::Cancelled));
    }
    QCOMPARE(StateReader(trainer.checkpointPath()).getInt("ppo/iteration"), int64_t(1));  // saved on cancel
}

namespace tst_train_detail {
SyntheticOptions smallSynthetic()
{
    SyntheticOptions o;
    o.seed = 5;
    o.items = 40;
    o.users = 160;
    o.top_categories = 3;
    o.subcategories_per_top = 1;
    o.min_sequence_length = 6;
    o.max_sequence_length = 12;
    return o;
}
}  // namespace tst_train_detail

void TstTrain::ppoScoresRecommendationsWithRules()
{
    RECALIGN_FAST_ONLY();
    const Dataset data = generateSynthetic(smallSynthetic());
    MostPopTeacher teacher(data);
    TitleLookup lookup(data);
    auto lm = loadStories();
    TaskOptions to;
    to.seed = 2;
    const auto samples = buildRlPrompts(data, teacher, to, 0, {RlTask::SeqRec});
    QVERIFY(!samples.empty());
    const auto prompts = recommendationPrompts({samples.front()}, lm.tokenizer, llm::ChatTemplate::Compact, 256);
    const Sample& s = samples.front();
    QVERIFY(!s.history.empty());
    ItemId fresh = 1;
    while (std::find(s.history.begin(), s.history.end(), fresh) != s.history.end())
        ++fresh;
    // A legal item, an item of the history, a title that does not exist.
    const std::vector<std::string> titles = {data.title(fresh), data.title(s.history.front()), "No Such Film At All"};
    PpoResponse resp{0, true, encodeReply(lm.tokenizer, formatOutputList(titles) + "\n", 0)};
    RewardOptions ro;
    RecommendationReward reward(data, teacher, lookup, lm.tokenizer, ro);
    const auto scores = reward.score(prompts, {resp});
    QCOMPARE(scores.size(), size_t(1));
    const PpoScore& sc = scores.front();
    QCOMPARE(sc.items, 3);
    QCOMPARE(sc.in_history, 1);
    QCOMPARE(sc.non_exist, 1);
    QCOMPARE(sc.token_scores.size(), resp.tokens.size());
    double sum = 0;
    int nonZero = 0;
    for (float v : sc.token_scores) {
        sum += v;
        nonZero += v != 0.0f;
    }
    QVERIFY(std::abs(sum - (sc.item_reward + sc.list_reward)) < 1e-4);
    QVERIFY(nonZero >= 3);                               // three item tokens (+ the final token)
    QVERIFY(sc.token_scores.back() != 0.0f);              // the list reward lands on the last token
    // The breakdown names each item's legality and carries the same list reward.
    const auto details = nlohmann::json::parse(sc.details_json);
    QCOMPARE(details.at("items").size(), size_t(3));
    QCOMPARE(details.at("items")[0].at("legality").get<std::string>(), std::string("legal"));
    QCOMPARE(details.at("items")[1].at("legality").get<std::string>(), std::string("in_history"));
    QCOMPARE(details.at("items")[2].at("legality").get<std::string>(), std::string("non_existent"));
    QCOMPARE(details.at("list_reward").get<double>(), sc.list_reward);
    // The illegal items carry -1 on the token that ends them.
    int minusOnes = 0;
    for (size_t i = 0; i + 1 < sc.token_scores.size(); ++i)
        minusOnes += std::abs(sc.token_scores[i] + 1.0f) < 1e-6;
    QCOMPARE(minusOnes, 2);
}

void TstTrain::ppoRunsOnRecommendationPromptsWithValidation()
{
    RECALIGN_FAST_ONLY();
    const Dataset data = generateSynthetic(smallSynthetic());
    MostPopTeacher teacher(data);
    TitleLookup lookup(data);
    auto lm = loadStories();
    TaskOptions to;
    to.seed = 2;
    RewardOptions ro;
    RecommendationReward reward(data, teacher, lookup, lm.tokenizer, ro, /*rerenderActions=*/true);
    auto cfg = toyPpoConfig();
    cfg.stage = "ppo_rec";
    cfg.hyper.max_iterations = 2;
    cfg.hyper.prompts_per_batch = 2;
    cfg.max_new_tokens = 24;
    cfg.hyper.ppo_epochs = 1;
    cfg.hyper.val_every = 2;
    QTemporaryDir dir;
    cfg.output_dir = dir.path().toStdString();
    RecordingObserver obs;
    PpoTrainer trainer(*lm.model, &lm.tokenizer, cfg,
                       [&](int e) {
                           return recommendationPrompts(buildRlPrompts(data, teacher, to, e), lm.tokenizer,
                                                        llm::ChatTemplate::Compact, 64);
                       },
                       reward, obs);
    SuiteOptions eo;
    eo.task = to;
    eo.split = Stage::Valid;
    eo.users_per_task = 2;
    eo.disjoint_slices = true;
    auto valSamples = buildEvalSuite(data, teacher, eo, {EvalTask::parse("i0"), EvalTask::parse("i1+")});
    QCOMPARE(valSamples.size(), size_t(4));
    GenerationEvalOptions go;
    go.chat_template = llm::ChatTemplate::Compact;
    go.max_prompt_tokens = 64;
    go.generation.max_new_tokens = 24;
    trainer.setValidator(recommendationValidator(lm.tokenizer, data, teacher, lookup, valSamples, ro, go, obs));
    const auto r = trainer.run();
    QCOMPARE(r.iterations, 2L);
    QCOMPARE(obs.steps.size(), size_t(2));
    const double list = obs.metric(1, "val/list_reward");
    QVERIFY(std::isfinite(list));
    QCOMPARE(obs.metric(1, "validation/score"), list);
    QCOMPARE(r.best_validation, list);
    // The best weights come back after the live ones are clobbered.
    {
        torch::NoGradGuard noGrad;
        for (auto& t : lm.model->adapterParameters("actor"))
            t.fill_(0.5f);
    }
    QVERIFY(trainer.restoreBest());
    StateReader best(dir.path().toStdString() + "/best/ppo_best.safetensors");
    QCOMPARE(best.getInt("iteration"), int64_t(2));
    const auto stored = best.getNamedTensors("params");
    const auto live = lm.model->namedAdapterParameters("actor");
    QVERIFY(stored.size() > live.size());
    QCOMPARE(stored.front().first, "actor/" + live.front().first);
    QVERIFY(torch::equal(stored.front().second, live.front().second));
    for (const char* key : {"illegal/nonexist", "illegal/repeat", "illegal/inhistory", "illegal/beyond_k"}) {
        const double v = obs.metric(0, key);
        QVERIFY2(v >= 0.0 && v <= 1.0, key);
    }
    // An untrained story model writes no catalogue titles: every parsed item is non-existent.
    QVERIFY(obs.metric(0, "illegal/nonexist") > 0.5);
    QVERIFY(obs.metric(0, "reward/item_mean") < 0.0);
    QVERIFY(!obs.samples.empty());
    QVERIFY(obs.samples.front().details_json.find('{') == 0);
}

// ---- SFT ---------------------------------------------------------------------------------------

namespace tst_train_detail {

SftTrainConfig smallSftConfig()
{
    SftTrainConfig c;  // hyper starts from the schema's defaults
    SftConfig& h = c.hyper;
    c.stage = "sft_test";
    c.chat_template = llm::ChatTemplate::Compact;
    h.full_finetune = false;
    h.lora.r = 16;
    h.lora.alpha = 16;
    h.lora.dropout = 0.0;
    h.lora.targets = {"all"};
    h.lr = 5e-3;
    h.weight_decay = 0.0;
    h.warmup_ratio = 0.0;
    h.end_lr = 1e-4;
    h.batch = 8;
    h.grad_accum = 1;
    h.epochs = 4;
    h.max_prompt_tokens = 64;  // left truncation keeps the newest history and the request
    h.max_output_tokens = 96;
    c.data.mix = SftMix::V1;
    c.data.task.seed = 1;
    c.val_tasks = {EvalTask::parse("i0")};
    h.val_users_per_task = 60;
    c.val_every_epochs = 0;
    c.val_max_new_tokens = 120;
    h.selection_metric = SftConfig::Selection::Last;
    c.load_best_at_end = false;
    return c;
}

class HookObserver : public RecordingObserver {
public:
    std::function<void(const StepRecord&)> hook;
    void onStep(const StepRecord& r) override
    {
        RecordingObserver::onStep(r);
        if (hook)
            hook(r);
    }
};

}  // namespace tst_train_detail

void TstTrain::sftLossCoversReplyTokensOnly()
{
    RECALIGN_FAST_ONLY();
    auto lm = loadStories();
    lm.model->eval();
    Sample a, b;
    a.prompt.instruction = "Tell me a story about a dog";
    a.output_text = "Once upon a time there was a dog.";
    b.prompt.instruction = "Hi";
    b.output_text = "Tim ran to the park and played with his big red ball all day long.";  // the longer reply
    SftTrainConfig cfg = smallSftConfig();
    torch::NoGradGuard noGrad;
    const auto batch = makeSftBatch({&a, &b}, lm.tokenizer, cfg, torch::kCPU);
    const double batched = sftLoss(*lm.model, batch).item<double>();
    // Reference: each sample alone, unpadded; mean NLL of its reply tokens; then the mean.
    double ref = 0;
    size_t widest = 0, longestPrompt = 0, longestReply = 0;
    for (const Sample* s : {&a, &b}) {
        const auto p = encodePrompt(lm.tokenizer, s->prompt, cfg.chat_template, 0);
        const auto r = encodeReply(lm.tokenizer, s->output_text, 0);
        widest = std::max(widest, p.size() + r.size());
        longestPrompt = std::max(longestPrompt, p.size());
        longestReply = std::max(longestReply, r.size());
        QCOMPARE(r.back(), lm.tokenizer.eosId());
        std::vector<int64_t> all(p.begin(), p.end());
        all.insert(all.end(), r.begin(), r.end());
        const auto logits = lm.model->forward(torch::tensor(all).unsqueeze(0)).logits[0];
        const auto logp = torch::log_softmax(logits, -1);
        double nll = 0;
        for (size_t j = 0; j < r.size(); ++j)
            nll -= logp[static_cast<int64_t>(p.size() + j - 1)][r[j]].item<double>();
        ref += nll / static_cast<double>(r.size()) / 2.0;
    }
    QVERIFY2(std::abs(batched - ref) < 1e-4, (std::to_string(batched) + " vs " + std::to_string(ref)).c_str());
    // Rows are right-aligned: as wide as the longest prompt + reply, not the longest prompt plus
    // the longest reply (here the two differ).
    QCOMPARE(batch.packed.tokens.size(1), static_cast<int64_t>(widest));
    QVERIFY(widest < longestPrompt + longestReply);
    // Truncation: prompts keep their last tokens, replies their first.
    const auto full = encodePrompt(lm.tokenizer, a.prompt, cfg.chat_template, 0);
    const auto cut = encodePrompt(lm.tokenizer, a.prompt, cfg.chat_template, 5);
    QCOMPARE(cut.size(), size_t(5));
    QVERIFY(std::equal(cut.begin(), cut.end(), full.end() - 5));
    const auto reply = encodeReply(lm.tokenizer, a.output_text, 3);
    QCOMPARE(reply.size(), size_t(3));
    QCOMPARE(reply[0], encodeReply(lm.tokenizer, a.output_text, 0)[0]);
}

void TstTrain::lengthGroupsMinimiseTheCost()
{
    // Widths 10, 10, 100, 100 with cost rows * width + 50 per group: one group 4 * 100 + 50 = 450;
    // {10, 10} {100, 100}: 20 + 50 + 200 + 50 = 320 (the best); four groups 220 + 200 = 420.
    const auto linear = [](size_t rows, double width) { return static_cast<double>(rows) * width + 50.0; };
    using Groups = std::vector<std::pair<size_t, size_t>>;
    QCOMPARE(planLengthGroups({10, 10, 100, 100}, linear), (Groups{{0, 2}, {2, 4}}));
    // A larger overhead keeps one group: 450 + 0 vs 220 + 2 * 500.
    QCOMPARE(planLengthGroups({10, 10, 100, 100}, paddedCost(1e18, 500.0)), (Groups{{0, 4}}));
    // The cap: at most 150 padded positions in a group of several rows.
    QCOMPARE(planLengthGroups({10, 10, 100, 100}, paddedCost(1e18, 1000.0), 150), (Groups{{0, 2}, {2, 3}, {3, 4}}));
    // paddedCost: rows * width * (1 + width / attention) + overhead.
    QCOMPARE(paddedCost(100.0, 7.0)(3, 50.0), 3 * 50.0 * 1.5 + 7.0);
    QVERIFY(planLengthGroups({}, linear).empty());
}

void TstTrain::sftSubBatchesGiveTheOneBatchLossAndGradient()
{
    // Rows of very different lengths go to sub-batches of their own; weighted by their rows, the
    // sub-batches' losses and gradients are the one padded batch's.
    RECALIGN_FAST_ONLY();
    auto lm = loadStories();
    lm.model->eval();
    std::vector<Sample> samples(6);
    for (size_t i = 0; i < samples.size(); ++i) {
        const bool longOne = i % 2 == 1;
        samples[i].prompt.instruction = longOne ? std::string(60, 'a') + " tell me a long story about a dog and a cat "
                                                      + std::to_string(i) + std::string(200, 'z')
                                                : "Hi " + std::to_string(i);
        samples[i].output_text = longOne ? "Tim ran to the park and played with his big red ball all day long."
                                         : "Once upon a time.";
    }
    std::vector<const Sample*> rows;
    for (const auto& s : samples)
        rows.push_back(&s);
    SftTrainConfig cfg = smallSftConfig();
    auto params = lm.model->parameters();
    auto gradients = [&](const std::vector<SftBatch>& batches) {
        for (auto& p : params)
            p.mutable_grad() = torch::Tensor();
        double loss = 0.0;
        for (const auto& b : batches) {
            const auto l = sftLoss(*lm.model, b) * (static_cast<double>(b.rows) / static_cast<double>(rows.size()));
            l.backward();
            loss += l.item<double>();
        }
        std::vector<torch::Tensor> g;
        for (auto& p : params)
            g.push_back(p.grad().defined() ? p.grad().clone() : torch::zeros_like(p));
        return std::make_pair(loss, g);
    };
    const auto subs = makeSftSubBatches(rows, lm.tokenizer, cfg, lm.model->config(), torch::kCPU);
    QVERIFY2(subs.size() >= 2, std::to_string(subs.size()).c_str());
    long subRows = 0, subCells = 0, tokens = 0;
    for (const auto& b : subs) {
        subRows += b.rows;
        subCells += b.packed.tokens.numel();
        tokens += b.tokens;
    }
    const auto one = makeSftBatch(rows, lm.tokenizer, cfg, torch::kCPU);
    QCOMPARE(subRows, static_cast<long>(rows.size()));
    QCOMPARE(tokens, one.tokens);
    QVERIFY2(subCells < one.packed.tokens.numel(), (std::to_string(subCells) + " padded positions").c_str());
    const auto [subLoss, subGrad] = gradients(subs);
    const auto [oneLoss, oneGrad] = gradients({one});
    QVERIFY2(std::abs(subLoss - oneLoss) < 1e-5 * std::abs(oneLoss), (std::to_string(subLoss) + " vs " + std::to_string(oneLoss)).c_str());
    for (size_t i = 0; i < oneGrad.size(); ++i) {
        const double scale = oneGrad[i].abs().max().item<double>(), gap = (subGrad[i] - oneGrad[i]).abs().max().item<double>();
        QVERIFY2(gap <= 1e-4 * scale + 1e-9, (std::to_string(i) + ": " + std::to_string(gap) + " of " + std::to_string(scale)).c_str());
    }
}

void TstTrain::sftStartsFromAnExternalAdapter()
{
    RECALIGN_FAST_ONLY();
    const Dataset data = generateSynthetic(smallSynthetic());
    MostPopTeacher teacher(data);
    TitleLookup lookup(data);
    QTemporaryDir dir;
    const std::string exported = dir.filePath(QStringLiteral("adapter")).toStdString();
    // One run trains an adapter and exports it as a PEFT folder ...
    auto first = loadStories();
    {
        RecordingObserver obs;
        auto c = smallSftConfig();
        c.max_steps = 3;
        c.hyper.val_users_per_task = 0;
        SftTrainer trainer(*first.model, first.tokenizer, data, &teacher, lookup, c, obs);
        trainer.run();
        llm::exportPeftAdapter(*first.model, c.adapter, exported);
    }
    // ... another starts from it: its rank and weights, not sft.lora's.
    auto second = loadStories();
    RecordingObserver obs;
    auto c = smallSftConfig();
    c.hyper.lora.r = 4;
    c.hyper.init_adapter = exported;
    c.max_steps = 1;
    c.hyper.val_users_per_task = 0;
    SftTrainer trainer(*second.model, second.tokenizer, data, &teacher, lookup, c, obs);
    QCOMPARE(second.model->adapterSpec(c.adapter).r, 16);
    const auto a = first.model->namedAdapterParameters(c.adapter);
    const auto b = second.model->namedAdapterParameters(c.adapter);
    QCOMPARE(a.size(), b.size());
    double trainedB = 0.0;
    for (size_t i = 0; i < a.size(); ++i) {
        QCOMPARE(a[i].first, b[i].first);
        QVERIFY2(torch::allclose(a[i].second, b[i].second, 0.0, 1e-7), a[i].first.c_str());
        if (a[i].first.find("lora_B") != std::string::npos)
            trainedB = std::max(trainedB, a[i].second.abs().max().item<double>());
    }
    QVERIFY(trainedB > 0.0);  // B was trained (a fresh adapter's B is zero)
    QVERIFY(trainer.run().steps == 1);
    bool logged = false;
    for (const auto& l : obs.logs)
        logged = logged || l.find(exported) != std::string::npos;
    QVERIFY(logged);
}

void TstTrain::bf16BaseKeepsFloat32AdaptersAndMoments()
{
    RECALIGN_FAST_ONLY();
    // model.dtype bfloat16: the frozen base is stored in bf16; LoRA weights, their gradients and
    // AdamW's moments are float32.
    llm::LlamaModel m(toyConfig(), llm::storageScalarType(ModelConfig::DType::BFloat16));
    QCOMPARE(m->embeddingWeight().scalar_type(), torch::kBFloat16);
    for (const auto& p : m->parameters())
        QCOMPARE(p.scalar_type(), torch::kBFloat16);
    llm::LoraSpec spec;
    spec.targets = llm::parseLoraTargets({"all-linear"});
    m->addAdapter("sft", spec);
    m->setActiveAdapter("sft");
    m->setBaseTrainable(false);
    m->train();
    auto named = m->namedAdapterParameters("sft");
    auto opt = makeAdamW(named, AdamWSettings{});
    const auto loss = m->forward(torch::arange(1, 9).view({1, 8})).logits.logsumexp(-1).sum();
    QCOMPARE(loss.scalar_type(), torch::kFloat);
    loss.backward();
    opt->step();
    for (const auto& [name, p] : named) {
        QCOMPARE(p.scalar_type(), torch::kFloat);
        QVERIFY2(p.grad().defined() && p.grad().scalar_type() == torch::kFloat, name.c_str());
    }
    QVERIFY(!opt->state().empty());
    for (const auto& [key, state] : opt->state()) {
        const auto& s = static_cast<const torch::optim::AdamWParamState&>(*state);
        QCOMPARE(s.exp_avg().scalar_type(), torch::kFloat);
        QCOMPARE(s.exp_avg_sq().scalar_type(), torch::kFloat);
    }
    for (const auto& p : m->parameters())
        if (!p.requires_grad())
            QCOMPARE(p.scalar_type(), torch::kBFloat16);  // the base stays bf16
}

void TstTrain::sftLowersLossAndBeatsUntrainedModel()
{
    RECALIGN_FAST_ONLY();
    const Dataset data = generateSynthetic(smallSynthetic());
    MostPopTeacher teacher(data);
    TitleLookup lookup(data);
    auto lm = loadStories();
    RecordingObserver obs;
    SftTrainer trainer(*lm.model, lm.tokenizer, data, &teacher, lookup, smallSftConfig(), obs);
    QElapsedTimer clock;
    clock.start();
    const auto before = trainer.validate(0);
    const double hrBefore = before.mean("hr");
    qInfo("validation before: %lld ms", static_cast<long long>(clock.restart()));
    const auto result = trainer.run();
    qInfo("training: %lld ms, %ld steps", static_cast<long long>(clock.restart()), result.steps);
    const auto after = trainer.validate(result.steps);
    qInfo("validation after: %lld ms", static_cast<long long>(clock.restart()));
    const double hrAfter = after.mean("hr");
    const auto loss = series(obs, "loss");
    QVERIFY(loss.size() >= 20);
    const double first = meanOf(loss, 0, 3);
    const double last = meanOf(loss, loss.size() - 3, loss.size());
    const std::string msg = "loss " + std::to_string(first) + " -> " + std::to_string(last) + ", HR "
        + std::to_string(hrBefore) + " -> " + std::to_string(hrAfter) + ", non-exist after "
        + std::to_string(after.mean("non_exist"));
    qInfo("%s", msg.c_str());
    QVERIFY2(last < 0.6 * first, msg.c_str());
    QVERIFY2(hrAfter > hrBefore + 0.05, msg.c_str());
    QVERIFY(after.mean("non_exist") < before.mean("non_exist") || before.tasks.empty()
            || before.tasks.front().samples == 0);
    for (size_t i = 0; i < obs.steps.size(); ++i) {
        QVERIFY(obs.metric(i, "tokens_per_s") > 0);
        QVERIFY(std::isfinite(obs.metric(i, "grad_norm")));
    }
}

void TstTrain::sftResumeReproducesUninterruptedRun()
{
    RECALIGN_FAST_ONLY();
    const Dataset data = generateSynthetic(smallSynthetic());
    MostPopTeacher teacher(data);
    TitleLookup lookup(data);
    auto cfgFor = [](const QTemporaryDir& dir) {
        auto c = smallSftConfig();
        c.max_steps = 6;
        c.hyper.epochs = 1;
        c.hyper.batch = 4;
        c.hyper.grad_accum = 2;
        c.hyper.lora.dropout = 0.1;  // dropout draws from torch's RNG, which the checkpoint restores
        c.output_dir = dir.path().toStdString();
        return c;
    };
    QTemporaryDir dirA, dirB;
    RecordingObserver straight;
    {
        torch::manual_seed(21);
        auto lm = loadStories();
        SftTrainer t(*lm.model, lm.tokenizer, data, &teacher, lookup, cfgFor(dirA), straight);
        t.run();
    }
    {
        torch::manual_seed(21);
        auto lm = loadStories();
        auto c = cfgFor(dirB);
        c.checkpoint_every = 2;
        c.checkpoint_on_cancel = false;
        RecordingObserver obs;
        obs.stopAfterSteps = 3;
        SftTrainer t(*lm.model, lm.tokenizer, data, &teacher, lookup, c, obs);
        try {
            t.run();
            QFAIL("expected Cancelled");
        } catch (const CoreException& e) {
            QCOMPARE(int(e.error().code), int(ErrorCode::Cancelled));
        }
    }
    RecordingObserver resumed;
    {
        torch::manual_seed(999);  // the checkpoint's RNG state must win
        auto lm = loadStories();
        SftTrainer t(*lm.model, lm.tokenizer, data, &teacher, lookup, cfgFor(dirB), resumed);
        QCOMPARE(t.run().steps, 6L);
    }
    QCOMPARE(straight.steps.size(), size_t(6));
    QCOMPARE(resumed.steps.size(), size_t(4));
    for (size_t i = 0; i < 4; ++i) {
        const auto& a = straight.steps[i + 2];
        const auto& b = resumed.steps[i];
        QCOMPARE(b.step, a.step);
        for (const char* key : {"loss", "grad_norm", "learning_rate"}) {
            const double x = straight.metric(i + 2, key), y = resumed.metric(i, key);
            if (x != y)
                QFAIL((std::string(key) + " at step " + std::to_string(a.step) + ": " + std::to_string(x) + " vs "
                       + std::to_string(y))
                          .c_str());
        }
    }
}

void TstTrain::sftNanStopsWithDivergedAndKeepsCheckpoint()
{
    RECALIGN_FAST_ONLY();
    const Dataset data = generateSynthetic(smallSynthetic());
    MostPopTeacher teacher(data);
    TitleLookup lookup(data);
    auto lm = loadStories();
    QTemporaryDir dir;
    auto c = smallSftConfig();
    c.hyper.epochs = 1;
    c.max_steps = 8;
    c.checkpoint_every = 2;
    c.output_dir = dir.path().toStdString();
    HookObserver obs;
    // After step 3 a weight of the adapter turns NaN: step 4's loss is NaN.
    obs.hook = [&](const StepRecord& r) {
        if (r.step == 3) {
            torch::NoGradGuard noGrad;
            lm.model->adapterParameters("sft").front().fill_(std::nanf(""));
        }
    };
    SftTrainer t(*lm.model, lm.tokenizer, data, &teacher, lookup, c, obs);
    try {
        t.run();
        QFAIL("expected Diverged");
    } catch (const CoreException& e) {
        QCOMPARE(int(e.error().code), int(ErrorCode::Diverged));
        const std::string msg = e.what();
        QVERIFY2(msg.find("step 4") != std::string::npos, e.what());
        QVERIFY2(msg.find(t.checkpointPath()) != std::string::npos, e.what());
    }
    StateReader r(t.checkpointPath());
    QCOMPARE(r.getInt("sft/step"), int64_t(2));
    for (const auto& [name, tensor] : r.getNamedTensors("params"))
        QVERIFY(torch::isfinite(tensor).all().item<bool>());
}

QTEST_GUILESS_MAIN(TstTrain)
#include "tst_train.moc"
