#include "core/util/json_text.h"

#include <nlohmann/json.hpp>

namespace recalign::core {

std::string jsonText(const nlohmann::json& j, int indent)
{
    return j.dump(indent, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace recalign::core
