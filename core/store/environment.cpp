// Sacred-style capture of the host and the project checkout for a run record: host name, CPU
// model, hardware threads, git commit and dirty flag, sqlite version. No torch (the caller adds
// torch / CUDA versions and the GPU it resolved).
#include "core/api/store_api.h"

#include "core/util/strings.h"

#include <nlohmann/json.hpp>
#include <sqlite3.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <fstream>
#include <thread>

namespace recalign::core {

namespace environment_detail {

// Runs `command` through the shell and returns its stdout; ok = exit status 0.
static std::string runCommand(const std::string& command, bool* ok)
{
    std::string out;
    FILE* pipe = popen(command.c_str(), "r");
    if (!pipe) {
        *ok = false;
        return out;
    }
    std::array<char, 512> buf{};
    size_t n = 0;
    while ((n = std::fread(buf.data(), 1, buf.size(), pipe)) > 0)
        out.append(buf.data(), n);
    *ok = pclose(pipe) == 0;
    return out;
}

static std::string shellQuote(const std::string& s)
{
    std::string out = "'";
    for (char c : s)
        out += c == '\'' ? std::string("'\\''") : std::string(1, c);
    return out + "'";
}

static std::string cpuModel()
{
    std::ifstream in("/proc/cpuinfo");
    std::string line;
    while (std::getline(in, line))
        if (str::startsWith(line, "model name")) {
            const auto colon = line.find(':');
            if (colon != std::string::npos)
                return str::trim(line.substr(colon + 1));
        }
    return {};
}

}  // namespace environment_detail

RunEnvironment captureEnvironment(const std::string& source_dir)
{
    using namespace environment_detail;
    RunEnvironment env;
    char host[256] = {};
    if (gethostname(host, sizeof(host) - 1) == 0)
        env.host_name = host;
    env.host_cpu = cpuModel();
    env.host_threads = static_cast<int>(std::thread::hardware_concurrency());
    nlohmann::json versions = nlohmann::json::object();
    versions["sqlite"] = sqlite3_libversion();
    env.library_versions_json = versions.dump();
    if (!source_dir.empty()) {
        bool ok = false;
        const std::string dir = shellQuote(source_dir);
        const std::string commit = str::trim(runCommand("git -C " + dir + " rev-parse HEAD 2>/dev/null", &ok));
        if (ok && !commit.empty()) {
            env.git_commit = commit;
            const std::string status = runCommand("git -C " + dir + " status --porcelain --untracked-files=no 2>/dev/null", &ok);
            env.git_dirty = ok && !str::trim(status).empty();
        }
    }
    return env;
}

}  // namespace recalign::core
