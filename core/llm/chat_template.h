// Chat templates: the Llama-2 chat format of RECLM-GEN §3.2 (fastchat 0.2.33 `llama-2`) and a
// compact format for small from-scratch models. Both render one logical Conversation; "</s>" and
// "<s>" in the rendered text are EOS/BOS special ids, never text. Torch-free.
#pragma once

#include "core/tokenizer/tokenizer.h"

#include <cstdint>
#include <string>
#include <vector>

namespace recalign::core::llm {

enum class ChatTemplate { Llama2, Compact };
const char* chatTemplateName(ChatTemplate t);
ChatTemplate parseChatTemplate(const std::string& name);  // "llama2" | "compact"; throws InvalidConfig

struct ChatTurn {
    std::string user;
    std::string assistant;  // "" on the last turn: the reply to generate
};

struct Conversation {
    std::string system;  // "" = none
    std::vector<ChatTurn> turns;
};

// The prompt text, stripped, ending where the reply starts:
//   Llama2:  "[INST] <<SYS>>\n{sys}\n<</SYS>>\n\n{U1} [/INST] {A1} </s><s>[INST] {U2} [/INST]"
//   Compact: "[sys]{sys}\n[u]{U1}\n[a] {A1}</s><s>[u]{U2}\n[a]" (messages trimmed)
// A conversation whose last turn has an assistant text renders it closed ("... </s><s>" removed
// at the end, so the text ends with the last reply).
std::string renderChat(const Conversation& conversation, ChatTemplate tmpl);

// Token ids of `text` with literal "</s>" → EOS and "<s>" → BOS; each text segment is encoded on
// its own (sentencepiece adds its dummy prefix, as Hugging Face's legacy Llama tokenizer does).
std::vector<int32_t> encodeWithSpecialTokens(const Tokenizer& tokenizer, const std::string& text, bool addBos = true);

// BOS + the rendered prompt, ready for generation.
std::vector<int32_t> encodeChatPrompt(const Tokenizer& tokenizer, const Conversation& conversation, ChatTemplate tmpl);

// The markers a tokenizer trained for this template should keep as single pieces.
std::vector<std::string> chatTemplateSymbols(ChatTemplate tmpl);

// Tokens of `text` as they appear right after `context` when both are encoded together
// (context-dependent tokenisation, the D3 approach). Throws InvalidConfig when the encoding of
// `context` is not a prefix of the encoding of `context + text`.
std::vector<int32_t> tokensInContext(const Tokenizer& tokenizer, const std::string& context, const std::string& text);

}  // namespace recalign::core::llm
