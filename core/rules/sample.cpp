// Task, control and stage names; Sample → JSON.
#include "core/rules/sample.h"

#include <nlohmann/json.hpp>

namespace recalign::core {

const char* taskKindName(TaskKind kind)
{
    switch (kind) {
    case TaskKind::SeqRec: return "seqrec";
    case TaskKind::SeqRecPalr: return "palr";
    case TaskKind::ControlInclude: return "control+";
    case TaskKind::ControlExclude: return "control-";
    case TaskKind::CategoryRate: return "category_rate";
    case TaskKind::ItemSearch: return "item_search";
    case TaskKind::CategoryQuestion: return "category_question";
    case TaskKind::General: return "general";
    case TaskKind::ItemCount: return "item_count";
    }
    return "?";
}

const char* controlName(Control c)
{
    switch (c) {
    case Control::None: return "none";
    case Control::Include: return "+C";
    case Control::Exclude: return "-C";
    case Control::AtMost: return "<=";
    case Control::AtLeast: return ">=";
    case Control::About: return "~=";
    }
    return "?";
}

const char* stageName(Stage s)
{
    switch (s) {
    case Stage::Sft: return "sft";
    case Stage::Rl: return "rl";
    case Stage::Valid: return "valid";
    case Stage::Test: return "test";
    }
    return "?";
}

nlohmann::json sampleToJson(const Sample& s, const Dataset& data)
{
    auto titled = [&](const std::vector<ItemId>& ids) {
        nlohmann::json a = nlohmann::json::array();
        for (ItemId id : ids)
            a.push_back({{"item", id}, {"title", id > 0 && id <= data.numItems() ? data.title(id) : std::string()}});
        return a;
    };
    nlohmann::json j = {{"task", taskKindName(s.task)},
                        {"task_name", s.task_name},
                        {"stage", stageName(s.stage)},
                        {"template", templateName(s.template_id)},
                        {"control", controlName(s.control)},
                        {"user", s.user},
                        {"user_raw_id", s.user >= 0 && s.user < data.numUsers() ? data.users[static_cast<size_t>(s.user)].raw_id : std::string()},
                        {"history", titled(s.history)},
                        {"target", s.target},
                        {"target_title", s.target > 0 && s.target <= data.numItems() ? data.title(s.target) : std::string()},
                        {"item_count", s.item_count},
                        {"output_text", s.output_text},
                        {"labels", titled(s.label_items)},
                        {"seed", s.seed},
                        {"prompt", {{"system", s.prompt.system},
                                    {"first_user", s.prompt.first_user},
                                    {"first_assistant", s.prompt.first_assistant},
                                    {"instruction", s.prompt.instruction}}},
                        {"rendered_prompt", renderLlama2Chat(s.prompt)}};
    if (s.item > 0)
        j["item"] = s.item;
    if (s.target_category >= 0 && s.target_category < data.numCategories()) {
        j["target_category"] = s.target_category;
        j["target_category_name"] = data.categories[static_cast<size_t>(s.target_category)].name;
    }
    if (s.task == TaskKind::CategoryRate) {
        j["category_count"] = s.category_count;
        j["proportion"] = s.proportion;
    }
    if (!s.intention.empty())
        j["intention"] = s.intention;
    if (!s.candidates.empty())
        j["candidates"] = titled(s.candidates);
    return j;
}

}  // namespace recalign::core
