// This process's memory (see process.h).
#include "core/util/process.h"

#include <cstdlib>
#include <fstream>
#include <string>

namespace recalign::core {

namespace process_detail {

double statusMiB(const char* field)
{
    std::ifstream in("/proc/self/status");
    const std::string prefix = std::string(field) + ":";
    std::string line;
    while (std::getline(in, line))
        if (line.rfind(prefix, 0) == 0)
            return std::strtod(line.c_str() + prefix.size(), nullptr) / 1024.0;
    return -1.0;
}

}  // namespace process_detail

double residentMiB() { return process_detail::statusMiB("VmRSS"); }

double peakResidentMiB() { return process_detail::statusMiB("VmHWM"); }

bool resetPeakResident()
{
    std::ofstream out("/proc/self/clear_refs");
    out << "5";
    out.flush();
    return static_cast<bool>(out);
}

}  // namespace recalign::core
