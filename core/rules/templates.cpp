// Instruction templates (RECLM-GEN §3.4, verbatim), field formats (§3.3), Llama-2 chat (§3.2).
#include "core/rules/templates.h"

#include "core/api/error.h"
#include "core/util/strings.h"

namespace recalign::core {

const char* const kRecSystem = "You are an expert recommender engine. ";
const char* const kGeneralSystem = "You are a helpful, respectful and honest assistant.";

namespace templates_detail {

// Python's str.strip() for the ASCII white space the templates can produce.
std::string pyStrip(const std::string& s)
{
    size_t b = 0, e = s.size();
    auto ws = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'; };
    while (b < e && ws(s[b]))
        ++b;
    while (e > b && ws(s[e - 1]))
        --e;
    return s.substr(b, e - b);
}

const char* const kPleaseGenerate = "Please generate a recommendation list with ";
const char* const kDifferentItems = " different items. ";
const char* const kHereIsHistory = "Here is user's historical interactions: ";
const char* const kAndIntention = ", and user's intention: ";

std::string pleaseGenerate(int k) { return kPleaseGenerate + std::to_string(k) + kDifferentItems; }
std::string pleaseSelect(int k)
{
    return "Please select a recommendation list with " + std::to_string(k) + " different items from candidate items. ";
}
std::string quoted(const std::string& c) { return "'" + c + "'"; }

}  // namespace templates_detail

std::string renderLlama2Chat(const ChatPrompt& p)
{
    using templates_detail::pyStrip;
    // fastchat 0.2.33 Conversation.get_prompt, SeparatorStyle.LLAMA2.
    std::vector<const std::string*> messages;
    const bool firstTurn = !p.first_user.empty() || !p.first_assistant.empty();
    if (firstTurn) {
        messages.push_back(&p.first_user);
        messages.push_back(&p.first_assistant);
    }
    for (const auto& t : p.more_turns) {
        messages.push_back(&t.user);
        messages.push_back(&t.assistant);
    }
    messages.push_back(&p.instruction);
    messages.push_back(nullptr);  // the assistant's reply to come
    static const char* const kRoles[2] = {"[INST]", "[/INST]"};
    static const char* const kSeps[2] = {" ", " </s><s>"};
    std::string ret = p.system.empty() ? std::string("[INST] ") : "[INST] <<SYS>>\n" + p.system + "\n<</SYS>>\n\n";
    for (size_t i = 0; i < messages.size(); ++i) {
        const char* tag = kRoles[i % 2];
        const std::string* m = messages[i];
        if (m && !m->empty()) {
            if (i == 0)
                ret += *m + " ";
            else
                ret += std::string(tag) + " " + *m + kSeps[i % 2];
        } else {
            ret += tag;
        }
    }
    return pyStrip(ret);
}

std::string renderZeroShot(const ChatPrompt& p, bool listOnlyNotice)
{
    const char* notice = listOnlyNotice
        ? "Notice! Do not explain the reason or include any other words."
        : "Notice! You need to output category information in the brackets after item titles in this template: "
          "1. title (category). Do not explain the reason or include any other words in the front of titles.";
    return p.system + " " + p.first_user + " " + p.instruction + " \n" + notice;
}

const char* templateName(TemplateId id)
{
    switch (id) {
    case TemplateId::SeqRec0: return "SeqRec-0";
    case TemplateId::SeqRec1: return "SeqRec-1";
    case TemplateId::PersonalControlRec0: return "PersonalControlRec-0";
    case TemplateId::PersonalControlRec1: return "PersonalControlRec-1";
    case TemplateId::RateSftLP: return "LP";
    case TemplateId::RateSftMP: return "MP";
    case TemplateId::RateSftLC: return "LC";
    case TemplateId::RateSftMC: return "MC";
    case TemplateId::RateLP: return "LP";
    case TemplateId::RateLP1: return "LP1";
    case TemplateId::RateMP: return "MP";
    case TemplateId::RateEP: return "EP";
    case TemplateId::ControlRec0: return "ControlRec-0";
    case TemplateId::ControlRec1: return "ControlRec-1";
    case TemplateId::ControlRecReverse: return "ControlRec-reverse";
    case TemplateId::General: return "ShareGPT";
    }
    return "?";
}

ChatPrompt renderTemplate(TemplateId id, const TemplateFields& f, LeWording le)
{
    using namespace templates_detail;
    ChatPrompt p;
    p.system = kRecSystem;
    const std::string C = quoted(f.category);
    const char* lessThan = le == LeWording::Seed ? "less than or equal to " : "less than ";
    switch (id) {
    case TemplateId::SeqRec0:
        p.first_user = "You need to generate a recommendation list considering user's preference from historical interactions. ";
        p.first_assistant = "Ok, I will consider user's preference. ";
        p.instruction = "The historical interactions are provided as follows: " + f.history + ". " + pleaseGenerate(f.item_count);
        break;
    case TemplateId::SeqRec1:
        p.first_user = "You need to select a recommendation list considering user's preference from historical interactions. ";
        p.first_assistant = "Ok, I will do it considering user's preference.";
        p.instruction = "The historical interactions are provided as follows: " + f.history + ". The candidate items are: " +
                        f.candidates + ". " + pleaseSelect(f.item_count);
        break;
    case TemplateId::PersonalControlRec0:
        p.first_user = "You need to generate a recommendation list simultaneously considering user's preference inferred from "
                       "historical interactions and user's intention. If user's preference is conflict with his intention, "
                       "you should comply with his intention. ";
        p.first_assistant = "Ok, I will do it considering user's preference and intention. ";
        p.instruction = kHereIsHistory + f.history + kAndIntention + f.intention + ". " + pleaseGenerate(f.item_count);
        break;
    case TemplateId::PersonalControlRec1:
        p.first_user = "You need to select a recommendation list from candidate items simultaneously considering user's "
                       "preference inferred from historical interactions and user's intention. If user's preference is "
                       "conflict with his intention, you should comply with his intention. ";
        p.first_assistant = "Ok, I will do it considering user's preference, intention and candidate items. ";
        p.instruction = kHereIsHistory + f.history + kAndIntention + f.intention + ". The candidate items are: " +
                        f.candidates + ". " + pleaseSelect(f.item_count);
        break;
    case TemplateId::RateSftLP:
    case TemplateId::RateSftMP:
    case TemplateId::RateSftLC:
    case TemplateId::RateSftMC: {
        p.first_user = "You need to generate a recommendation list simultaneously considering user's preference inferred from "
                       "historical interactions and user's intention. ";
        p.first_assistant = "Ok, I will do it considering user's preference and intention. ";
        std::string intent;
        if (id == TemplateId::RateSftLP)
            intent = "I like " + C + " items, but in the recommendation list, the proportion of " + C + " items should be " +
                     lessThan + f.proportion + ". ";
        else if (id == TemplateId::RateSftMP)
            intent = "I don't like " + C + " items, but in the recommendation list, the proportion of " + C +
                     " items should be more than " + f.proportion + ". ";
        else if (id == TemplateId::RateSftLC)
            intent = "I like " + C + " items, but the recommendation list should containing less than " +
                     std::to_string(f.category_count) + " " + C + " items. ";
        else
            intent = "I don't like " + C + " items, but the recommendation list should containing more than " +
                     std::to_string(f.category_count) + " " + C + " items. ";
        p.instruction = kHereIsHistory + f.history + kAndIntention + intent + pleaseGenerate(f.item_count);
        break;
    }
    case TemplateId::RateLP:
    case TemplateId::RateLP1:
    case TemplateId::RateMP:
    case TemplateId::RateEP: {
        p.first_user = "You need to generate a recommendation list simultaneously considering user's preference from "
                       "historical interactions, and user's intention. ";
        p.first_assistant = "Ok, I will consider user's preference and intention. ";
        std::string intent;
        if (id == TemplateId::RateLP)
            intent = "I like " + C + " items, but in the recommendation list, the proportion of " + C + " items should be " +
                     lessThan + f.proportion + ". ";
        else if (id == TemplateId::RateLP1)
            intent = "In the recommendation list, the proportion of " + C + " items should be " + lessThan + f.proportion + ". ";
        else if (id == TemplateId::RateMP)
            intent = "In the recommendation list, the proportion of " + C + " items should be more than " + f.proportion + ". ";
        else
            intent = "In the recommendation list, the proportion of " + C + " items should be approximately " + f.proportion + ". ";
        p.instruction = kHereIsHistory + f.history + kAndIntention + intent + pleaseGenerate(f.item_count);
        break;
    }
    case TemplateId::ControlRec0:
        p.first_user = "You need to generate a recommendation list complying user's intention. ";
        p.first_assistant = "Ok, I will do it considering user's intention. ";
        p.instruction = "Here is user's intention: " + f.intention + ". " + pleaseGenerate(f.item_count);
        break;
    case TemplateId::ControlRec1:
        p.first_user = "You need to select a recommendation list complying user's intention from candidate items. ";
        p.first_assistant = "Ok, I will do it considering user's intention and candidate items. ";
        p.instruction = "Here is user's intention: " + f.intention + ". The candidate items are: " + f.candidates + ". " +
                        pleaseSelect(f.item_count);
        break;
    case TemplateId::ControlRecReverse:
        p.first_user = "You need to answer user's question. ";
        p.first_assistant = "Ok, I will do it. ";
        p.instruction = "What is the category of \"" + f.item + "\"? ";
        break;
    case TemplateId::General:
        throw CoreException(ErrorCode::Internal, "renderTemplate: the General (I4) prompt is built from its conversation");
    }
    return p;
}

std::string positiveIntention(int index, const std::string& category)
{
    const std::string C = templates_detail::quoted(category);
    switch (index) {
    case 0: return "I like " + C + " products";
    case 1: return "Please recommend some " + C + " items";
    case 2: return "I'm interested in " + C;
    case 3: return "I would like to buy some " + C + " products";
    case 4: return "I would like to browse some " + C + " products";
    case 5: return "I prefer in " + C + " items";
    default: break;
    }
    throw CoreException(ErrorCode::Internal, "positiveIntention: index " + std::to_string(index) + " outside 0..5");
}

std::string negativeIntention(int index, const std::string& category)
{
    const std::string C = templates_detail::quoted(category);
    switch (index) {
    case 0: return "I don't like " + C + " products";
    case 1: return "Please exclude any " + C + " item";
    case 2: return "I'm not interested in " + C;
    case 3: return "Don't recommend me any " + C + " products";
    case 4: return "I don't want to browse any " + C + " product";
    case 5: return "I hate " + C + " items";
    default: break;
    }
    throw CoreException(ErrorCode::Internal, "negativeIntention: index " + std::to_string(index) + " outside 0..5");
}

std::string formatHistory(const std::vector<std::string>& titles)
{
    std::string out;
    for (size_t i = 0; i < titles.size(); ++i) {
        if (i)
            out += " \xE2\x86\x92 ";  // " → " (U+2192)
        out += "'" + titles[i] + "'";
    }
    return out;
}

std::string formatCandidates(const std::vector<std::string>& titles)
{
    std::string out;
    for (size_t i = 0; i < titles.size(); ++i) {
        if (i)
            out += ", ";
        out += "'" + titles[i] + "'";
    }
    return out;
}

std::string formatOutputList(const std::vector<std::string>& titles)
{
    std::string out;
    for (size_t i = 0; i < titles.size(); ++i) {
        if (i)
            out += "\n ";
        out += std::to_string(i + 1) + ". " + titles[i];
    }
    return out;
}

std::string formatPercent(int percent) { return std::to_string(percent) + "%"; }

std::string formatCategoryAnswer(const std::string& item, const std::string& category)
{
    return "The category of \"" + item + "\" is \"" + category + "\".";
}

}  // namespace recalign::core
