// The CLI's command registry and argument helper.
#include "app/cli/command.h"

#include "core/util/process.h"

#include "core/util/strings.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <stdexcept>

namespace recalign::cli {

namespace {
std::map<std::string, Command>& registry()
{
    static std::map<std::string, Command> r;
    return r;
}

std::string nearest(const std::string& key, const std::set<std::string>& a, const std::set<std::string>& b)
{
    std::vector<std::pair<int, std::string>> scored;
    for (const auto* set : {&a, &b})
        for (const auto& k : *set)
            scored.emplace_back(core::str::levenshtein(key, k), k);
    std::sort(scored.begin(), scored.end());
    std::string out;
    for (size_t i = 0; i < scored.size() && i < 3; ++i)
        out += (i ? ", --" : "--") + scored[i].second;
    return out;
}
}  // namespace

std::map<std::string, std::map<std::string, Subcommand>>& subRegistry()
{
    static std::map<std::string, std::map<std::string, Subcommand>> r;
    return r;
}

void registerCommand(const Command& command) { registry()[command.name] = command; }

void registerSubcommand(const Subcommand& sub) { subRegistry()[sub.group][sub.name] = sub; }

int dispatchGroup(const std::string& group, const std::vector<std::string>& args)
{
    const auto& subs = subRegistry()[group];
    if (args.empty() || args[0] == "--help" || args[0] == "help" || !subs.count(args[0])) {
        if (!args.empty() && args[0] != "--help" && args[0] != "help")
            std::cerr << "recalign " << group << ": unknown subcommand '" << args[0] << "'\n";
        std::cout << "usage: recalign " << group << " <subcommand> [options]\n";
        for (const auto& [name, s] : subs)
            std::cout << "  " << name << std::string(name.size() < 14 ? 14 - name.size() : 1, ' ') << s.summary << "\n";
        return args.empty() || !subs.count(args[0]) ? 2 : 0;
    }
    return subs.at(args[0]).run(std::vector<std::string>(args.begin() + 1, args.end()));
}
const std::map<std::string, Command>& commands() { return registry(); }

Args::Args(const std::vector<std::string>& args, const std::set<std::string>& valued,
           const std::set<std::string>& flags)
{
    for (size_t i = 0; i < args.size(); ++i) {
        const std::string& a = args[i];
        if (a.size() > 2 && a.compare(0, 2, "--") == 0) {
            std::string key = a.substr(2), value;
            bool inlineValue = false;
            if (auto eq = key.find('='); eq != std::string::npos) {
                value = key.substr(eq + 1);
                key = key.substr(0, eq);
                inlineValue = true;
            }
            if (valued.count(key)) {
                if (!inlineValue) {
                    if (i + 1 >= args.size())
                        throw std::invalid_argument("option --" + key + " expects a value");
                    value = args[++i];
                }
                m_values[key] = value;
            } else if (flags.count(key) && !inlineValue) {
                m_flags.insert(key);
            } else {
                throw std::invalid_argument("unknown option --" + key + " (did you mean "
                                            + nearest(key, valued, flags) + "?)");
            }
        } else {
            m_positional.push_back(a);
        }
    }
}

std::string Args::get(const std::string& key, const std::string& fallback) const
{
    auto it = m_values.find(key);
    return it == m_values.end() ? fallback : it->second;
}

long Args::getInt(const std::string& key, long fallback) const
{
    auto it = m_values.find(key);
    if (it == m_values.end())
        return fallback;
    try {
        size_t used = 0;
        long v = std::stol(it->second, &used);
        if (used != it->second.size())
            throw std::invalid_argument("");
        return v;
    } catch (const std::exception&) {
        throw std::invalid_argument("option --" + key + " expects an integer, got '" + it->second + "'");
    }
}

double Args::getDouble(const std::string& key, double fallback) const
{
    auto it = m_values.find(key);
    if (it == m_values.end())
        return fallback;
    try {
        size_t used = 0;
        double v = std::stod(it->second, &used);
        if (used != it->second.size())
            throw std::invalid_argument("");
        return v;
    } catch (const std::exception&) {
        throw std::invalid_argument("option --" + key + " expects a number, got '" + it->second + "'");
    }
}

std::vector<long> Args::getIntList(const std::string& key, long lo, long hi, const std::string& example) const
{
    std::vector<long> out;
    auto it = m_values.find(key);
    if (it == m_values.end())
        return out;
    for (const auto& part : core::str::split(it->second, ',')) {
        const std::string t = core::str::trim(part);
        char* end = nullptr;
        errno = 0;
        const long v = std::strtol(t.c_str(), &end, 10);
        if (t.empty() || *end || errno == ERANGE || v < lo || v > hi)
            throw std::invalid_argument("option --" + key + " expects integers from " + std::to_string(lo) + " to "
                                        + std::to_string(hi) + " separated by commas (e.g. " + example + "), got '"
                                        + it->second + "'");
        out.push_back(v);
    }
    return out;
}

std::optional<std::string> Args::optional(const std::string& key) const
{
    return m_values.count(key) ? std::optional<std::string>(get(key)) : std::nullopt;
}

std::optional<long> Args::optionalInt(const std::string& key) const
{
    return m_values.count(key) ? std::optional<long>(getInt(key, 0)) : std::nullopt;
}

std::optional<double> Args::optionalDouble(const std::string& key) const
{
    return m_values.count(key) ? std::optional<double>(getDouble(key, 0)) : std::nullopt;
}

int toolExitCode(const core::ToolStatus& status)
{
    switch (status.failure) {
    case core::ToolFailure::None: return status.exit_code;
    case core::ToolFailure::Argument: throw std::invalid_argument(status.error.message);
    case core::ToolFailure::Core: throw core::CoreException(status.error.code, status.error.message, status.error.where);
    case core::ToolFailure::Other: break;
    }
    throw std::runtime_error(status.error.message);
}

std::string selfExecutable()
{
    std::error_code ec;
    const auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
    return ec ? std::string() : exe.string();
}

std::string findMovieLensSmall()
{
    namespace fs = std::filesystem;
    std::vector<fs::path> candidates;
    if (const char* s = std::getenv("RECALIGN_SHARED_DIR"); s && *s)
        candidates.push_back(fs::path(s) / "data/ml-latest-small");
    candidates.push_back("../shared/data/ml-latest-small");
    std::error_code ec;
    fs::path exe = selfExecutable();
    for (int up = 0; up < 5 && !exe.empty() && exe.has_parent_path(); ++up) {
        exe = exe.parent_path();
        candidates.push_back(exe / "shared/data/ml-latest-small");
        candidates.push_back(exe / "../shared/data/ml-latest-small");
    }
    for (const auto& c : candidates)
        if (fs::exists(c / "ratings.csv", ec))
            return c.lexically_normal().string();
    return {};
}

double peakRssMiB() { return core::peakResidentMiB(); }

int runWithUsage(const std::function<int()>& body, const std::string& usage)
{
    try {
        return body();
    } catch (const std::invalid_argument& e) {
        std::cerr << e.what() << "\n" << usage;
        if (!usage.empty() && usage.back() != '\n')
            std::cerr << "\n";
        return 2;
    }
}

bool stdoutIsTty() { return isatty(STDOUT_FILENO) != 0; }

}  // namespace recalign::cli
