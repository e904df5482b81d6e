// DeviceSpec parsing.
#include "core/api/device.h"

#include <algorithm>
#include <cctype>

namespace recalign::core {

std::string DeviceSpec::toString() const
{
    switch (kind) {
    case Kind::Cpu: return "cpu";
    case Kind::Auto: return "auto";
    case Kind::Cuda: return index < 0 ? std::string("cuda") : "cuda:" + std::to_string(index);
    }
    return "cpu";
}

Result<DeviceSpec> parseDevice(const std::string& text)
{
    std::string t = text;
    std::transform(t.begin(), t.end(), t.begin(), [](unsigned char c) { return std::tolower(c); });
    DeviceSpec d;
    if (t == "cpu") {
        d.kind = DeviceSpec::Kind::Cpu;
        return d;
    }
    if (t == "auto") {
        d.kind = DeviceSpec::Kind::Auto;
        return d;
    }
    if (t == "cuda") {
        d.kind = DeviceSpec::Kind::Cuda;
        return d;
    }
    if (t.rfind("cuda:", 0) == 0 && t.size() > 5
        && std::all_of(t.begin() + 5, t.end(), [](unsigned char c) { return std::isdigit(c); })) {
        d.kind = DeviceSpec::Kind::Cuda;
        d.index = std::stoi(t.substr(5));
        return d;
    }
    return Error{ErrorCode::InvalidConfig,
                 "device '" + text + "': expected cpu, cuda, cuda:N or auto", "device"};
}

}  // namespace recalign::core
