// The pre-training corpus of a from-scratch model, built from the catalogue: titles, their
// categories, category listings and numbered lists, so a tiny model learns the catalogue's
// vocabulary and the list format before SFT; and the instruction prompts' language (the task
// templates rendered in the chat format), the from-scratch stand-in for a chat model's English.
#pragma once

#include "core/data/dataset.h"
#include "core/llm/chat_template.h"
#include "core/rules/builders.h"

#include <cstdint>
#include <string>
#include <vector>

namespace recalign::core {

struct CorpusOptions {
    uint64_t seed = 1;
    int list_documents = 0;     // numbered "1. T\n 2. T" lists drawn from users' sequences (0 = one per user)
    int max_list_items = 10;
};

std::vector<std::string> catalogueCorpus(const Dataset& data, const CorpusOptions& options);

struct InstructionCorpusOptions {
    TaskOptions task{1};  // seed 1; the history window and K of the prompts
    llm::ChatTemplate chat_template = llm::ChatTemplate::Compact;
    bool with_replies = false;  // append each sample's target (most-popular labels, not the teacher's)
};

// One rendered prompt per SFT datum of every recommendation task (I0-I3) for one epoch, labelled
// by popularity only: the tokenizer learns the templates' words, and pre-training learns to read
// them, without seeing any teacher list (replies off) -- v1 and v2 still differ only in their SFT.
std::vector<std::string> instructionCorpus(const Dataset& data, const InstructionCorpusOptions& options);

}  // namespace recalign::core
