// The CLI's command registry and argument helper. Each cmd_*.cpp registers one top-level command.
#pragma once

#include "core/api/tools.h"

#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace recalign::cli {

struct Command {
    std::string name;     // e.g. "info", "data"
    std::string summary;  // one line for `recalign help`
    int (*run)(const std::vector<std::string>& args);  // args after the command name
};

void registerCommand(const Command& command);
const std::map<std::string, Command>& commands();

struct CommandRegistrar {
    explicit CommandRegistrar(const Command& c) { registerCommand(c); }
};

// Subcommands of a group command such as `recalign bench sasrec`: each bench_*.cpp registers
// one with group "bench". `dispatchGroup` runs `recalign <group> <name> ...`.
struct Subcommand {
    std::string group;
    std::string name;
    std::string summary;
    int (*run)(const std::vector<std::string>& args);  // args after the subcommand name
};
void registerSubcommand(const Subcommand& sub);
int dispatchGroup(const std::string& group, const std::vector<std::string>& args);

struct SubcommandRegistrar {
    explicit SubcommandRegistrar(const Subcommand& s) { registerSubcommand(s); }
};

// Parsed `--key value`, `--key=value` and `--flag` options plus positionals. Unknown keys are
// an error naming the nearest known ones.
// The running executable's path (/proc/self/exe; "" when unknown).
std::string selfExecutable();

class Args {
public:
    // `valued` take a value; `flags` do not. Throws std::invalid_argument with a clear message.
    Args(const std::vector<std::string>& args, const std::set<std::string>& valued,
         const std::set<std::string>& flags = {});
    bool has(const std::string& key) const { return m_values.count(key) > 0 || m_flags.count(key) > 0; }
    std::string get(const std::string& key, const std::string& fallback = {}) const;
    long getInt(const std::string& key, long fallback) const;
    double getDouble(const std::string& key, double fallback) const;
    // A comma-separated list of integers in [lo, hi] ("0,1,2"); empty when the option is absent.
    // A bad element throws naming the option, the allowed range and `example`.
    std::vector<long> getIntList(const std::string& key, long lo, long hi, const std::string& example) const;
    // The value when the option is given, else unset (same errors as get / getInt / getDouble).
    std::optional<std::string> optional(const std::string& key) const;
    std::optional<long> optionalInt(const std::string& key) const;
    std::optional<double> optionalDouble(const std::string& key) const;
    const std::vector<std::string>& positional() const { return m_positional; }

private:
    std::map<std::string, std::string> m_values;
    std::set<std::string> m_flags;
    std::vector<std::string> m_positional;
};

// An optional integer option as T (int, uint64_t): `optionalAs<int>(a.optionalInt("k"))`.
template <typename T>
std::optional<T> optionalAs(const std::optional<long>& v)
{
    return v ? std::optional<T>(static_cast<T>(*v)) : std::nullopt;
}

// The exit code of a core/api tool (core/api/tools.h), or its failure rethrown as the exception
// the command's own code saw before the tools moved into the core: std::invalid_argument (main
// prints it, exit 2), core::CoreException, or std::runtime_error for anything else.
int toolExitCode(const core::ToolStatus& status);

// Runs a command's body; a std::invalid_argument (a bad option) prints its message and `usage`
// on stderr and gives exit status 2.
int runWithUsage(const std::function<int()>& body, const std::string& usage);

// ml-latest-small for benchmarks: $RECALIGN_SHARED_DIR/data, ../shared/data, or a shared/ folder
// above the binary ("" when none is found).
std::string findMovieLensSmall();

// Peak resident set size of this process in MiB (VmHWM), -1 when unknown.
double peakRssMiB();

// True when stdout is a terminal (progress bars) rather than a pipe (plain lines).
bool stdoutIsTty();

}  // namespace recalign::cli
