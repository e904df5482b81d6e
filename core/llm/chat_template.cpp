// Chat templates (see chat_template.h). Torch-free.
#include "core/llm/chat_template.h"

#include "core/api/error.h"
#include "core/util/strings.h"

namespace recalign::core::llm {

const char* chatTemplateName(ChatTemplate t) { return t == ChatTemplate::Llama2 ? "llama2" : "compact"; }

ChatTemplate parseChatTemplate(const std::string& name)
{
    const std::string n = str::toLower(str::trim(name));
    if (n == "llama2" || n == "llama-2")
        return ChatTemplate::Llama2;
    if (n == "compact")
        return ChatTemplate::Compact;
    throw CoreException(ErrorCode::InvalidConfig, "chat template '" + name + "': expected llama2 or compact",
                        "chat_template");
}

std::string renderChat(const Conversation& c, ChatTemplate tmpl)
{
    if (c.turns.empty())
        throw CoreException(ErrorCode::InvalidConfig, "chat: a conversation needs at least one turn", "chat");
    std::string ret;
    if (tmpl == ChatTemplate::Llama2) {
        // fastchat 0.2.33 SeparatorStyle.LLAMA2: sep " ", sep2 " </s><s>", roles [INST] / [/INST].
        ret = c.system.empty() ? "[INST] " : "[INST] <<SYS>>\n" + c.system + "\n<</SYS>>\n\n";
        for (size_t i = 0; i < c.turns.size(); ++i) {
            const ChatTurn& t = c.turns[i];
            ret += i == 0 ? t.user + " " : "[INST] " + t.user + " ";
            if (!t.assistant.empty())
                ret += "[/INST] " + t.assistant + " </s><s>";
            else
                ret += "[/INST]";
        }
        ret = str::trim(ret);
    } else {
        if (!c.system.empty())
            ret += "[sys]" + str::trim(c.system) + "\n";
        for (const ChatTurn& t : c.turns) {
            ret += "[u]" + str::trim(t.user) + "\n[a]";
            if (!t.assistant.empty())
                ret += " " + str::trim(t.assistant) + "</s><s>";
        }
    }
    // A closed conversation ends with its last reply.
    const std::string closing = "</s><s>";
    if (!c.turns.back().assistant.empty() && str::endsWith(ret, closing))
        ret = str::trim(ret.substr(0, ret.size() - closing.size()));
    return ret;
}

std::vector<int32_t> encodeWithSpecialTokens(const Tokenizer& tok, const std::string& text, bool addBos)
{
    std::vector<int32_t> ids;
    if (addBos)
        ids.push_back(tok.bosId());
    size_t pos = 0;
    while (pos <= text.size()) {
        const size_t eos = text.find("</s>", pos);
        const size_t bos = text.find("<s>", pos);
        const size_t next = std::min(eos, bos);
        const std::string segment = text.substr(pos, next == std::string::npos ? std::string::npos : next - pos);
        if (!segment.empty()) {
            const auto seg = tok.encode(segment);
            ids.insert(ids.end(), seg.begin(), seg.end());
        }
        if (next == std::string::npos)
            break;
        if (next == eos) {
            ids.push_back(tok.eosId());
            pos = next + 4;
        } else {
            ids.push_back(tok.bosId());
            pos = next + 3;
        }
    }
    return ids;
}

std::vector<int32_t> encodeChatPrompt(const Tokenizer& tok, const Conversation& c, ChatTemplate tmpl)
{
    return encodeWithSpecialTokens(tok, renderChat(c, tmpl), /*addBos=*/true);
}

std::vector<std::string> chatTemplateSymbols(ChatTemplate tmpl)
{
    if (tmpl == ChatTemplate::Llama2)
        return {"[INST]", "[/INST]", "<<SYS>>", "<</SYS>>"};
    return {"[sys]", "[u]", "[a]"};
}

std::vector<int32_t> tokensInContext(const Tokenizer& tok, const std::string& context, const std::string& text)
{
    const auto ctx = tok.encode(context);
    const auto all = tok.encode(context + text);
    if (all.size() < ctx.size() || !std::equal(ctx.begin(), ctx.end(), all.begin()))
        throw CoreException(ErrorCode::InvalidConfig,
                            "tokenisation of '" + text + "' merges with its context '" + context
                                + "' (the tokenizer joins pieces across the boundary)",
                            "constraint");
    return std::vector<int32_t>(all.begin() + static_cast<std::ptrdiff_t>(ctx.size()), all.end());
}

}  // namespace recalign::core::llm
