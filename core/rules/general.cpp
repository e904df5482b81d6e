// I4: ShareGPT loading, the catalogue's general-instruction set, and I4 samples.
#include "core/rules/general.h"

#include "core/api/error.h"
#include "core/util/files.h"
#include "core/util/strings.h"

#include <nlohmann/json.hpp>

#include <algorithm>

namespace recalign::core {

std::vector<Conversation> parseShareGpt(const std::string& jsonText, const std::string& sourceName)
{
    if (const int bad = str::firstInvalidUtf8Line(jsonText))
        throw CoreException(ErrorCode::DataLoad, sourceName + ":" + std::to_string(bad) + ": invalid UTF-8 (ShareGPT files are UTF-8 JSON)",
                            sourceName + ":" + std::to_string(bad));
    nlohmann::json root;
    try {
        root = nlohmann::json::parse(jsonText);
    } catch (const nlohmann::json::parse_error& e) {
        throw CoreException(ErrorCode::DataLoad, "ShareGPT '" + sourceName + "': invalid JSON at byte " +
                                                     std::to_string(e.byte) + ": " + e.what(), sourceName);
    }
    if (!root.is_array())
        throw CoreException(ErrorCode::DataLoad, "ShareGPT '" + sourceName +
                                                     "': expected a JSON array of {\"conversations\": [{\"from\", \"value\"}]}",
                            sourceName);
    std::vector<Conversation> out;
    for (size_t ci = 0; ci < root.size(); ++ci) {
        const auto& c = root[ci];
        if (!c.is_object() || !c.contains("conversations") || !c["conversations"].is_array())
            throw CoreException(ErrorCode::DataLoad, "ShareGPT '" + sourceName + "': element " + std::to_string(ci) +
                                                         " has no \"conversations\" array", sourceName);
        Conversation conv;
        for (const auto& t : c["conversations"]) {
            if (!t.is_object() || !t.contains("from") || !t.contains("value") || !t["from"].is_string() ||
                !t["value"].is_string())
                throw CoreException(ErrorCode::DataLoad, "ShareGPT '" + sourceName + "': element " + std::to_string(ci) +
                                                             " has a turn without string \"from\" and \"value\"", sourceName);
            const std::string from = t["from"].get<std::string>();
            int role = -1;  // 0 human, 1 gpt
            if (from == "human" || from == "user")
                role = 0;
            else if (from == "gpt" || from == "assistant" || from == "chatgpt" || from == "bard" || from == "bing" || from == "model")
                role = 1;
            if (role < 0)
                continue;  // system or unknown speakers
            const int expected = static_cast<int>(conv.turns.size() % 2);
            if (role != expected) {
                if (conv.turns.empty())
                    continue;  // leading gpt turns
                break;         // alternation broken: keep what came before
            }
            conv.turns.push_back(t["value"].get<std::string>());
        }
        if (conv.turns.size() % 2)
            conv.turns.pop_back();  // a trailing question without a reply
        if (conv.turns.size() >= 2)
            out.push_back(std::move(conv));
    }
    return out;
}

std::vector<Conversation> loadShareGpt(const std::string& path)
{
    return parseShareGpt(readFile(path, ErrorCode::DataLoad, "the ShareGPT file"), path);
}

namespace general_detail {

std::string quoteList(const std::vector<std::string>& names)
{
    std::string out;
    for (size_t i = 0; i < names.size(); ++i) {
        if (i)
            out += i + 1 == names.size() ? " and " : ", ";
        out += "'" + names[i] + "'";
    }
    return out;
}

int wordCount(const std::string& s)
{
    int n = 0;
    bool in = false;
    for (char c : s) {
        const bool ws = c == ' ' || c == '\t' || c == '\n';
        if (!ws && !in)
            ++n;
        in = !ws;
    }
    return n;
}

// One (question, answer) exchange about the catalogue.
std::pair<std::string, std::string> exchange(const Dataset& data, const std::vector<CategoryId>& cats, Rng& rng)
{
    const int kind = static_cast<int>(rng.below(6));
    const ItemId item = static_cast<ItemId>(rng.uniformInt(1, data.numItems()));
    const std::string& title = data.title(item);
    if (kind == 0 && !cats.empty()) {
        const auto& c = data.categories[static_cast<size_t>(rng.pick(cats))];
        return {"How many items in the catalogue belong to the category '" + c.name + "'?",
                std::to_string(c.members.size()) + (c.members.size() == 1 ? " item belongs" : " items belong") +
                    " to the category '" + c.name + "'."};
    }
    if (kind == 1 && !cats.empty()) {
        const auto& c = data.categories[static_cast<size_t>(rng.pick(cats))];
        const int n = static_cast<int>(std::min<size_t>(c.members.size(), static_cast<size_t>(rng.uniformInt(1, 3))));
        std::vector<ItemId> pool = c.members;
        rng.shuffle(pool);
        std::vector<std::string> names;
        for (int i = 0; i < n; ++i)
            names.push_back(data.title(pool[static_cast<size_t>(i)]));
        return {"Name " + std::to_string(n) + (n == 1 ? " item" : " items") + " of the category '" + c.name + "'.",
                "Here " + std::string(n == 1 ? "is one" : "are " + std::to_string(n)) + " '" + c.name + "' " +
                    (n == 1 ? "item: " : "items: ") + quoteList(names) + "."};
    }
    if (kind == 2) {
        std::vector<std::string> names;
        for (CategoryId c : data.categoriesOf(item))
            names.push_back(data.categories[static_cast<size_t>(c)].name);
        if (names.empty())
            return {"Which categories does \"" + title + "\" belong to?", "\"" + title + "\" belongs to no category."};
        return {"Which categories does \"" + title + "\" belong to?",
                "\"" + title + "\" belongs to " + quoteList(names) + "."};
    }
    if (kind == 3 && !cats.empty()) {
        const CategoryId c = rng.pick(cats);
        const std::string& name = data.categories[static_cast<size_t>(c)].name;
        const bool yes = data.inCategory(item, c);
        return {"Is \"" + title + "\" a '" + name + "' item?",
                yes ? "Yes, \"" + title + "\" is a '" + name + "' item." : "No, \"" + title + "\" is not a '" + name + "' item."};
    }
    if (kind == 4) {
        const int n = wordCount(title);
        return {"How many words are in the title \"" + title + "\"?",
                "The title \"" + title + "\" has " + std::to_string(n) + (n == 1 ? " word." : " words.")};
    }
    const int a = static_cast<int>(rng.uniformInt(1, 50));
    const int b = a + static_cast<int>(rng.uniformInt(2, 9));
    std::string answer;
    for (int i = a; i <= b; ++i)
        answer += std::to_string(i) + (i == b ? "." : ", ");
    return {"Count from " + std::to_string(a) + " to " + std::to_string(b) + ".", answer};
}

}  // namespace general_detail

std::vector<Conversation> catalogueConversations(const Dataset& data, uint64_t seed, int count)
{
    std::vector<Conversation> out;
    if (data.numItems() <= 0 || count <= 0)
        return out;
    std::vector<CategoryId> cats;
    for (CategoryId c = 0; c < data.numCategories(); ++c)
        if (!data.categories[static_cast<size_t>(c)].members.empty())
            cats.push_back(c);
    out.reserve(static_cast<size_t>(count));
    for (int i = 0; i < count; ++i) {
        Rng rng(mixSeed({seed, 0x4934ULL /* "I4" */, static_cast<uint64_t>(i)}));
        Conversation conv;
        const int exchanges = rng.bernoulli(0.2) ? 2 : 1;
        for (int e = 0; e < exchanges; ++e) {
            auto [q, a] = general_detail::exchange(data, cats, rng);
            conv.turns.push_back(std::move(q));
            conv.turns.push_back(std::move(a));
        }
        out.push_back(std::move(conv));
    }
    return out;
}

Sample buildGeneralSample(const std::vector<Conversation>& conversations, Rng& rng, const GeneralSampleOptions& options)
{
    if (conversations.empty())
        throw CoreException(ErrorCode::InvalidConfig, "I4: no general-instruction conversations to sample from", "sft.share_gpt");
    const Conversation& conv = rng.pick(conversations);
    if (conv.turns.size() < 2)
        throw CoreException(ErrorCode::InvalidConfig, "I4: a conversation without a (human, gpt) pair", "sft.share_gpt");
    const size_t humanTurns = conv.turns.size() / 2;  // every human turn has a reply (parseShareGpt)
    const size_t e = 2 * static_cast<size_t>(rng.below(humanTurns));
    std::vector<size_t> starts{e};
    size_t chars = conv.turns[e].size();
    for (size_t s = e; s >= 2;) {
        s -= 2;
        chars += conv.turns[s].size() + conv.turns[s + 1].size();
        if (chars > options.max_chars)
            break;
        starts.push_back(s);
    }
    const size_t s = starts[static_cast<size_t>(rng.below(starts.size()))];
    Sample out;
    out.task = TaskKind::General;
    out.task_name = "ShareChatGPT";
    out.template_id = TemplateId::General;
    out.prompt.system = kGeneralSystem;
    if (s < e) {
        out.prompt.first_user = conv.turns[s];
        out.prompt.first_assistant = conv.turns[s + 1];
        for (size_t t = s + 2; t < e; t += 2)
            out.prompt.more_turns.push_back({conv.turns[t], conv.turns[t + 1]});
    }
    out.prompt.instruction = conv.turns[e];
    out.output_text = conv.turns[e + 1];
    return out;
}

}  // namespace recalign::core
