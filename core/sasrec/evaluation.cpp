// Leave-one-out evaluation of a Teacher: full-ranking and sampled protocols, HR/NDCG/MRR.
#include "core/sasrec/evaluation.h"

#include "core/api/error.h"
#include "core/sasrec/sasrec_rng.h"
#include "core/util/strings.h"

#include <algorithm>
#include <chrono>
#include <cmath>

namespace recalign::core {

namespace evaluation_detail {

size_t cutoffIndex(int k)
{
    for (size_t i = 0; i < kEvalCutoffs.size(); ++i)
        if (kEvalCutoffs[i] == k)
            return i;
    throw CoreException(ErrorCode::InvalidConfig,
                        "metric cutoff @" + std::to_string(k) + " is not computed (expected 5, 10 or 20)", "k");
}

bool above(const ItemScores& scores, ItemId other, float s, ItemId target)
{
    const float o = scores[static_cast<size_t>(other)];
    return o > s || (o == s && other < target);
}

// `negatives` items drawn uniformly from 1..N outside `seen` (sorted); duplicates allowed, as
// the original. Gives up (fewer negatives) only when the user has seen (nearly) everything.
std::vector<ItemId> sampleNegatives(SasRecRng& rng, int32_t numItems, const std::vector<ItemId>& seen, int negatives)
{
    std::vector<ItemId> out;
    out.reserve(static_cast<size_t>(negatives));
    if (static_cast<int64_t>(seen.size()) >= numItems)
        return out;
    long attempts = 0;
    const long maxAttempts = 1000L * std::max(negatives, 1);
    while (static_cast<int>(out.size()) < negatives && attempts++ < maxAttempts) {
        const auto id = static_cast<ItemId>(rng.uniformInt(1, numItems));
        if (!std::binary_search(seen.begin(), seen.end(), id))
            out.push_back(id);
    }
    return out;
}

}  // namespace evaluation_detail

double RankingMetrics::hrAt(int k) const { return hr[evaluation_detail::cutoffIndex(k)]; }
double RankingMetrics::ndcgAt(int k) const { return ndcg[evaluation_detail::cutoffIndex(k)]; }

double EvalResult::usersPerSecond() const
{
    const double users = static_cast<double>(valid.users + test.users);
    return seconds > 0 ? users / seconds : 0.0;
}

std::string protocolLabel(EvalProtocol p, int negatives, long numItems)
{
    if (p == EvalProtocol::Full)
        return "full ranking (all " + (numItems > 0 ? std::to_string(numItems) + " " : std::string())
               + "items, history excluded)";
    return "sampled (target + " + std::to_string(negatives) + " random unseen items)";
}

const char* protocolKey(EvalProtocol p) { return p == EvalProtocol::Full ? "full" : "sampled"; }

EvalProtocol parseProtocol(const std::string& text)
{
    const std::string t = str::toLower(str::trim(text));
    if (t == "full")
        return EvalProtocol::Full;
    if (t == "sampled")
        return EvalProtocol::Sampled;
    throw CoreException(ErrorCode::InvalidConfig, "evaluation protocol '" + text + "': expected full or sampled",
                        "protocol");
}

int64_t rankAmong(const ItemScores& scores, ItemId target, const std::vector<ItemId>& candidates)
{
    const float s = scores[static_cast<size_t>(target)];
    int64_t r = 0;
    for (ItemId c : candidates)
        if (c != target && evaluation_detail::above(scores, c, s, target))
            ++r;
    return r;
}

int64_t rankFull(const ItemScores& scores, ItemId target, const std::vector<ItemId>& excluded)
{
    const float s = scores[static_cast<size_t>(target)];
    int64_t r = 0;
    const size_t n = scores.size();
    for (size_t j = 1; j < n; ++j) {
        const float o = scores[j];
        r += (o > s || (o == s && static_cast<ItemId>(j) < target)) ? 1 : 0;
    }
    // Remove excluded items that were counted (each once, even if repeated in the history).
    std::vector<ItemId> ex(excluded);
    std::sort(ex.begin(), ex.end());
    ex.erase(std::unique(ex.begin(), ex.end()), ex.end());
    for (ItemId e : ex)
        if (e > 0 && static_cast<size_t>(e) < n && e != target && evaluation_detail::above(scores, e, s, target))
            --r;
    return r;
}

RankingMetrics evaluateSplit(const Teacher& teacher, const Dataset& data, EvalSplit split, const EvalOptions& options)
{
    if (options.batch <= 0)
        throw CoreException(ErrorCode::InvalidConfig, "evaluation batch must be positive", "eval_batch");
    if (options.protocol == EvalProtocol::Sampled && options.negatives <= 0)
        throw CoreException(ErrorCode::InvalidConfig, "sampled evaluation needs at least one negative",
                            "eval_negatives");
    std::vector<UserIndex> users;
    for (UserIndex u = 0; u < data.numUsers(); ++u) {
        if (!data.hasEvalTargets(u))
            continue;
        users.push_back(u);
        if (options.max_users > 0 && static_cast<long>(users.size()) >= options.max_users)
            break;
    }
    RankingMetrics m;
    const size_t batch = static_cast<size_t>(options.batch);
    std::vector<std::vector<ItemId>> histories;
    for (size_t start = 0; start < users.size(); start += batch) {
        const size_t end = std::min(users.size(), start + batch);
        histories.clear();
        for (size_t i = start; i < end; ++i) {
            const auto& seq = data.users[static_cast<size_t>(users[i])].sequence;
            const size_t cut = seq.size() - (split == EvalSplit::Valid ? 2 : 1);
            histories.emplace_back(seq.begin(), seq.begin() + static_cast<std::ptrdiff_t>(cut));
        }
        const std::vector<ItemScores> scores = teacher.scoreBatch(histories);
        if (scores.size() != histories.size())
            throw CoreException(ErrorCode::Internal, "teacher '" + teacher.name() + "' returned "
                                + std::to_string(scores.size()) + " score vectors for "
                                + std::to_string(histories.size()) + " histories");
        for (size_t i = start; i < end; ++i) {
            const UserIndex u = users[i];
            const ItemId target = split == EvalSplit::Valid ? data.validTarget(u) : data.testTarget(u);
            const ItemScores& sc = scores[i - start];
            if (sc.size() != static_cast<size_t>(data.numItems()) + 1)
                throw CoreException(ErrorCode::Internal, "teacher '" + teacher.name() + "' scored "
                                    + std::to_string(sc.size()) + " items; the dataset has "
                                    + std::to_string(data.numItems()) + " (+ padding)");
            int64_t rank = 0;
            if (options.protocol == EvalProtocol::Full) {
                rank = rankFull(sc, target, histories[i - start]);
            } else {
                std::vector<ItemId> seen = data.users[static_cast<size_t>(u)].sequence;
                std::sort(seen.begin(), seen.end());
                seen.erase(std::unique(seen.begin(), seen.end()), seen.end());
                SasRecRng rng = SasRecRng::derived(options.seed, static_cast<uint64_t>(u),
                                                   split == EvalSplit::Valid ? 1 : 2);
                const auto negs = evaluation_detail::sampleNegatives(rng, data.numItems(), seen, options.negatives);
                rank = rankAmong(sc, target, negs);
            }
            for (size_t k = 0; k < kEvalCutoffs.size(); ++k) {
                if (rank < kEvalCutoffs[k]) {
                    m.hr[k] += 1.0;
                    m.ndcg[k] += 1.0 / std::log2(static_cast<double>(rank) + 2.0);
                }
            }
            m.mrr += 1.0 / (static_cast<double>(rank) + 1.0);
            ++m.users;
        }
    }
    if (m.users > 0) {
        const double n = static_cast<double>(m.users);
        for (size_t k = 0; k < kEvalCutoffs.size(); ++k) {
            m.hr[k] /= n;
            m.ndcg[k] /= n;
        }
        m.mrr /= n;
    }
    return m;
}

EvalResult evaluateTeacher(const Teacher& teacher, const Dataset& data, const EvalOptions& options)
{
    const auto t0 = std::chrono::steady_clock::now();
    EvalResult r;
    r.protocol = options.protocol;
    r.negatives = options.protocol == EvalProtocol::Sampled ? options.negatives : 0;
    r.valid = evaluateSplit(teacher, data, EvalSplit::Valid, options);
    r.test = evaluateSplit(teacher, data, EvalSplit::Test, options);
    r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    return r;
}

std::string formatMetrics(const RankingMetrics& m)
{
    std::string s;
    for (size_t k = 0; k < kEvalCutoffs.size(); ++k)
        s += "HR@" + std::to_string(kEvalCutoffs[k]) + " " + str::fixed(m.hr[k], 4) + "  ";
    for (size_t k = 0; k < kEvalCutoffs.size(); ++k)
        s += "NDCG@" + std::to_string(kEvalCutoffs[k]) + " " + str::fixed(m.ndcg[k], 4) + "  ";
    s += "MRR " + str::fixed(m.mrr, 4) + "  (" + std::to_string(m.users) + " users)";
    return s;
}

}  // namespace recalign::core
