// Sample: one instruction datum (prompt, label, and every field the reward and the metrics
// need), with the task kinds of RECLM-GEN §3.1 and the control each one asks for. Torch-free.
#pragma once

#include "core/data/dataset.h"
#include "core/rules/templates.h"

#include <nlohmann/json_fwd.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace recalign::core {

// What a sample asks for (paper ids in comments).
enum class TaskKind {
    SeqRec,            // I0 (SFT, RL, val/test)
    SeqRecPalr,        // PALR baseline: the user's real next items
    ControlInclude,    // I1 +C
    ControlExclude,    // I1 −C
    CategoryRate,      // I2 (direction in Sample::control)
    ItemSearch,        // I3: intention only, no history
    CategoryQuestion,  // I3 reverse: "What is the category of ...?"
    General,           // I4: general instructions (ShareGPT or the catalogue set)
    ItemCount,         // test/val: asks for 11..15 items
};
const char* taskKindName(TaskKind kind);  // "seqrec", "palr", "control+", ...

// The control an instruction imposes on the list, which selects the reward's and metrics' branch.
enum class Control {
    None,      // I0 / ItemCount / PALR
    Include,   // +C: items of C
    Exclude,   // −C: items not of C
    AtMost,    // I2 ≤ m (LP, LP1, LC)
    AtLeast,   // I2 ≥ m (MP, MC)
    About,     // I2 ≈ m (EP)
};
const char* controlName(Control c);  // "none", "+C", "-C", "<=", ">=", "~="

enum class Stage { Sft, Rl, Valid, Test };
const char* stageName(Stage s);

struct Sample {
    TaskKind task = TaskKind::SeqRec;
    Stage stage = Stage::Sft;
    std::string task_name;          // the released task name, e.g. "SFTSeqRec", "SFTTestPersonalCategoryRateLP1_20"
    TemplateId template_id = TemplateId::SeqRec0;
    Control control = Control::None;
    UserIndex user = -1;            // -1 for item-level data (I3) and I4
    ItemId item = 0;                // the datum item of I3 (else 0)
    std::vector<ItemId> history;    // the prompt's history window, oldest first (≤ 10)
    ItemId target = 0;              // the held-out next item (0 = none)
    CategoryId target_category = -1;
    int item_count = 0;             // k
    int category_count = 0;         // I2: the in-category count the instruction means (cc)
    double proportion = 0.0;        // I2: m as a fraction (0.2 for "20%"); k·m enters the paper's reward
    std::string intention;          // the synthesised intention (I1, I3), empty otherwise
    std::vector<ItemId> candidates; // *-1 templates: the candidate list shown
    ChatPrompt prompt;
    // SFT: the target text before EOS (lists: formatOutputList(labels) + "\n"; I4: the reply).
    // Val/test: the target title (metrics and validation loss only). RL: empty.
    std::string output_text;
    std::vector<ItemId> label_items;  // the items of output_text (SFT), in order
    uint64_t seed = 0;                // the sample's random stream (reproduces it)
};

// The sample as JSON (ids, titles, prompt fields, rendered prompt).
nlohmann::json sampleToJson(const Sample& s, const Dataset& data);

}  // namespace recalign::core
