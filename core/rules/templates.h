// Instruction templates of RECLM-GEN §3.2–3.4, verbatim (they are training data), the field
// formats of §3.3, and the Llama-2 chat rendering of §3.2. A prompt is a logical conversation
// (ChatPrompt); the LLM layer wraps and tokenises it. Torch-free.
#pragma once

#include <string>
#include <vector>

namespace recalign::core {

struct ChatTurn {
    std::string user;
    std::string assistant;
};

// system, a fixed first turn (U1, A1) and the instruction. `more_turns` holds extra
// (user, assistant) turns between the first turn and the instruction (multi-turn I4 only).
// An empty first_user and first_assistant mean "no first turn" (single-turn I4).
struct ChatPrompt {
    std::string system;
    std::string first_user;
    std::string first_assistant;
    std::string instruction;
    std::vector<ChatTurn> more_turns;
};

// The exact fastchat 0.2.33 `llama-2` string (RECLM-GEN §3.2), stripped:
// "[INST] <<SYS>>\n{sys}\n<</SYS>>\n\n{U1} [/INST] {A1} </s><s>[INST] {inst} [/INST]".
// "</s><s>" are literal text here; the tokenizer layer maps them to EOS/BOS.
std::string renderLlama2Chat(const ChatPrompt& prompt);

// The zero-shot general-LLM prompt (RECLM-GEN §3.4, `--general_llm`): "{sys} {U1} {inst} \n{notice}".
// `listOnlyNotice` = the I0/ItemCount notice; otherwise the "(category)" notice.
std::string renderZeroShot(const ChatPrompt& prompt, bool listOnlyNotice);

// Which template of §3.4 a prompt uses.
enum class TemplateId {
    SeqRec0,               // I0 (also val/test I0 and ItemCount)
    SeqRec1,               // I0 with candidates (SFT only)
    PersonalControlRec0,   // I1
    PersonalControlRec1,   // I1 with candidates (SFT only)
    RateSftLP,             // I2 SFT-train group: "I like C, but ... proportion ... less than p"
    RateSftMP,             // "I don't like C, but ... more than p"
    RateSftLC,             // "I like C, but ... containing less than n C items"
    RateSftMC,             // "I don't like C, but ... containing more than n C items"
    RateLP,                // I2 test/RL: "I like C, but ... proportion ... less than (or equal to) p"
    RateLP1,               // "In the recommendation list ... less than (or equal to) p"
    RateMP,                // "... more than p"
    RateEP,                // "... approximately p"
    ControlRec0,           // I3 item search
    ControlRec1,           // I3 with candidates
    ControlRecReverse,     // I3 reverse: "What is the category of ...?"
    General,               // I4 (ShareGPT / catalogue general instructions)
};
const char* templateName(TemplateId id);  // "SeqRec-0", "LP1", "ControlRec-reverse", ...

// Wording of the "≤" proportion templates (RateSftLP, RateLP, RateLP1).
// Seed (default): "less than or equal to", as in the seed's I2 listing (PAPER.md §2).
// Released: "less than", RECLM-GEN §3.4 byte for byte.
enum class LeWording { Seed, Released };

// The values a template's placeholders take. Formatted strings (history, candidates) come from
// the helpers below.
struct TemplateFields {
    std::string history;        // formatHistory(...)
    std::string candidates;     // formatCandidates(...)
    std::string intention;      // a synthesised intention (I1, I3)
    std::string category;       // {C} / {target_category}
    std::string proportion;     // {category_proportion}, e.g. "30%"
    int category_count = 0;     // {category_count}
    int item_count = 0;         // {item_count}
    std::string item;           // {item} of the reverse question
};

// The recommender system message of every recommendation template.
extern const char* const kRecSystem;      // "You are an expert recommender engine. "
extern const char* const kGeneralSystem;  // "You are a helpful, respectful and honest assistant."

// Renders a §3.4 template (not General: build I4 prompts directly).
ChatPrompt renderTemplate(TemplateId id, const TemplateFields& f, LeWording le = LeWording::Seed);

// Synthesised intentions (§3.4): 6 positive (+C, also I3) and 6 negative (−C); index 0..5.
constexpr int kIntentionCount = 6;
std::string positiveIntention(int index, const std::string& category);
std::string negativeIntention(int index, const std::string& category);

// Field formats (§3.3).
std::string formatHistory(const std::vector<std::string>& titles);     // 'A' → 'B'
std::string formatCandidates(const std::vector<std::string>& titles);  // 'T1', 'T2'
// "1. T1\n 2. T2\n …\n k. Tk" (lines joined by "\n "). The SFT target is this plus "\n" and EOS.
std::string formatOutputList(const std::vector<std::string>& titles);
std::string formatPercent(int percent);                                // "30%"
// The reverse question's answer: The category of "{item}" is "{C}". (EOS outside the quotes:
// the released "…is "C</s>"." quirk, RECLM-GEN §9.5, is not reproduced.)
std::string formatCategoryAnswer(const std::string& item, const std::string& category);

}  // namespace recalign::core
