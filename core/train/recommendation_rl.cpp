// The recommendation task for the RL trainers: the rules layer's reward placed on tokens, the
// episode prompts and the validator.
#include "core/train/recommendation_rl.h"

#include "core/api/error.h"
#include "core/rules/templates.h"
#include "core/rules/title_lookup.h"
#include "core/rules/token_placement.h"
#include "core/util/json_text.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <map>

namespace recalign::core {

// ---- the rules layer's reward --------------------------------------------------------------------

RecommendationReward::RecommendationReward(const Dataset& data, const Teacher& teacher, const TitleLookup& lookup,
                                           const Tokenizer& tokenizer, RewardOptions options, bool rerenderActions)
    : m_data(data), m_teacher(teacher), m_lookup(lookup), m_tokenizer(tokenizer), m_options(options),
      m_rerender(rerenderActions)
{
}

std::vector<PpoScore> RecommendationReward::score(const std::vector<PpoPrompt>& prompts,
                                                  const std::vector<PpoResponse>& responses)
{
    std::vector<std::vector<ItemId>> histories;
    for (size_t i = 0; i < prompts.size(); ++i) {
        if (!prompts[i].sample)
            throw CoreException(ErrorCode::Internal, "recommendation reward: prompt " + std::to_string(i)
                                                         + " carries no sample");
        histories.push_back(prompts[i].sample->history);
    }
    const auto scores = m_teacher.scoreBatch(histories);
    const DecodeFn decode = [this](const std::vector<int32_t>& ids) { return decodeReply(m_tokenizer, ids); };
    ParseOptions parse;  // exact titles only: the reward does not vague-map (RECLM-GEN §3.7)
    std::vector<PpoScore> out;
    out.reserve(responses.size());
    for (const auto& r : responses) {
        const Sample& s = *prompts.at(r.prompt).sample;
        PpoScore ps;
        ps.text = decodeReply(m_tokenizer, r.tokens);
        auto parsed = parseOutput(ps.text, m_lookup, parse);
        const RewardResult rr = rewardForOutput(s, m_data, parsed, scores.at(r.prompt), m_options);
        const std::vector<int32_t>* placed = &r.tokens;
        if (m_rerender) {
            // The released code trains on the canonical rendering of the parsed titles (§5.2).
            std::vector<std::string> titles;
            for (const auto& p : parsed)
                titles.push_back(p.title);
            ps.actions = encodeReply(m_tokenizer, formatOutputList(titles) + "\n", 0);
            parsed = parseOutput(decodeReply(m_tokenizer, ps.actions), m_lookup, parse);
            placed = &ps.actions;
        }
        const auto itemRewards = rr.itemRewards();
        auto placement = placeItemTokens(*placed, decode, parsed);
        if (placement.item_tokens.size() != itemRewards.size())
            placement.item_tokens.resize(itemRewards.size(), static_cast<int>(placed->size()) - 1);
        ps.token_scores = placeTokenScores(static_cast<int>(placed->size()), placement.item_tokens, itemRewards,
                                           rr.list_reward);
        ps.item_reward = rr.itemRewardSum();
        ps.list_reward = rr.list_reward;
        ps.items = static_cast<int>(rr.items.size());
        for (const auto& it : rr.items) {
            switch (it.legality) {
            case Legality::NonExistent: ++ps.non_exist; break;
            case Legality::Duplicate: ++ps.repeat; break;
            case Legality::InHistory: ++ps.in_history; break;
            case Legality::BeyondCount: ++ps.beyond_k; break;
            case Legality::Legal: break;
            }
        }
        ps.details_json = jsonText(rewardToJson(rr));
        out.push_back(std::move(ps));
    }
    return out;
}

std::vector<PpoPrompt> recommendationPrompts(const std::vector<Sample>& samples, const Tokenizer& tokenizer,
                                             llm::ChatTemplate tmpl, int maxPromptTokens)
{
    std::vector<PpoPrompt> out;
    out.reserve(samples.size());
    for (const auto& s : samples) {
        PpoPrompt p;
        p.ids = encodePrompt(tokenizer, s.prompt, tmpl, maxPromptTokens);
        p.text = llm::renderChat(toConversation(s.prompt), tmpl);
        p.task = s.task_name.empty() ? taskKindName(s.task) : s.task_name;
        p.sample = std::make_shared<const Sample>(s);
        out.push_back(std::move(p));
    }
    return out;
}

PpoValidator recommendationValidator(const Tokenizer& tokenizer, const Dataset& data, const Teacher& teacher,
                                     const TitleLookup& lookup, std::vector<Sample> samples, RewardOptions reward,
                                     GenerationEvalOptions options, Observer& observer)
{
    options.generation.temperature = 0.0;
    options.generation.adapter = std::string(kPpoActorAdapter);
    if (options.generation.stop_token_ids.empty())
        options.generation.stop_token_ids = {tokenizer.eosId()};
    auto shared = std::make_shared<const std::vector<Sample>>(std::move(samples));
    return [&tokenizer, &data, &teacher, &lookup, &observer, shared, reward, options](
               llm::LlamaModelImpl& model, long iteration, std::vector<std::pair<std::string, double>>& metrics) {
        GenerationEvalOptions o = options;
        o.step = iteration;
        const auto& samples = *shared;
        const auto res = evaluateByGeneration(model, tokenizer, data, lookup, samples, o, observer);
        std::vector<std::vector<ItemId>> histories;
        for (const auto& s : samples)
            histories.push_back(s.history);
        const auto scores = teacher.scoreBatch(histories);
        std::map<std::string, std::pair<double, long>> perTask;
        double listSum = 0, itemSum = 0;
        for (size_t i = 0; i < samples.size(); ++i) {
            const auto parsed = parseOutput(res.outputs[i], lookup, ParseOptions{});
            const auto rr = rewardForOutput(samples[i], data, parsed, scores[i], reward);
            listSum += rr.list_reward;
            itemSum += rr.itemRewardSum();
            const std::string task = samples[i].task_name.empty() ? taskKindName(samples[i].task) : samples[i].task_name;
            perTask[task].first += rr.list_reward;
            perTask[task].second += 1;
        }
        const double n = std::max<double>(1.0, static_cast<double>(samples.size()));
        metrics.emplace_back("val/list_reward", listSum / n);
        metrics.emplace_back("val/item_reward", itemSum / n);
        metrics.emplace_back("val/hr", res.mean("hr"));
        metrics.emplace_back("val/ndcg", res.mean("ndcg"));
        for (const auto& [task, v] : perTask)
            metrics.emplace_back("val/" + task + "/list_reward", v.first / static_cast<double>(std::max(1L, v.second)));
        return listSum / n;
    };
}

}  // namespace recalign::core
