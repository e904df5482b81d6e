// `recalign validate FILE`: checks an experiment file against the schema before any work starts
// (every issue names file:line, the dotted key and what is allowed); `--schema` lists the schema.
#include "app/cli/command.h"

#include "core/api/experiment.h"

#include <iostream>
#include <sstream>

namespace recalign::cli {
namespace cmd_validate_detail {

const char* typeName(core::ConfigField::Type t)
{
    using T = core::ConfigField::Type;
    switch (t) {
    case T::Bool: return "bool";
    case T::Int: return "int";
    case T::Double: return "number";
    case T::String: return "string";
    case T::Enum: return "choice";
    case T::Path: return "path";
    case T::StringList: return "list";
    case T::IntList: return "int list";
    case T::DoubleList: return "number list";
    }
    return "";
}

int printSchema()
{
    std::string group;
    for (const auto& f : core::experimentSchema()) {
        if (f.group != group) {
            group = f.group;
            std::cout << (group == "experiment" ? "" : "\n") << "[" << group << "]\n";
        }
        std::cout << "  " << f.key << " (" << typeName(f.type) << ") = "
                  << (f.default_value.empty() ? "\"\"" : f.default_value);
        if (!f.choices.empty()) {
            std::cout << "  {";
            for (size_t i = 0; i < f.choices.size(); ++i)
                std::cout << (i ? ", " : "") << f.choices[i];
            std::cout << "}";
        }
        if (f.has_range) {
            const bool integral = f.type == core::ConfigField::Type::Int || f.type == core::ConfigField::Type::IntList;
            auto num = [&](double v) {
                if (integral)
                    return std::to_string(static_cast<long long>(v));
                std::ostringstream o;
                o << v;
                return o.str();
            };
            std::cout << "  [" << num(f.min) << ", " << num(f.max) << "]";
        }
        std::cout << "\n      " << f.doc << "\n";
    }
    return 0;
}

int runValidate(const std::vector<std::string>& args)
{
    Args a(args, {"missing-files"}, {"help", "schema", "schema-only", "print", "json", "quiet"});
    if (a.has("help")) {
        std::cout << "usage: recalign validate FILE [--missing-files error|warn|skip] [--schema-only] [--print] [--json]\n"
                     "       recalign validate --schema\n\n"
                     "Checks an experiment file: unknown keys (with the nearest valid names), types, ranges,\n"
                     "choices, cross-field rules and paths (relative to the file's folder). Exit status 1 when\n"
                     "there are errors.\n"
                     "  --missing-files warn  report missing data / model files as warnings (default: error)\n"
                     "  --schema-only         same as --missing-files skip: check syntax and schema only\n"
                     "  --print               print the complete configuration (defaults filled in) as YAML\n"
                     "  --json                print the canonical JSON (what a run records and hashes)\n"
                     "  --schema              list every key with type, default, range or choices and meaning\n";
        return 0;
    }
    if (a.has("schema"))
        return printSchema();
    if (a.positional().size() != 1)
        throw std::invalid_argument("expects one experiment file (see --help)");
    const std::string file = a.positional()[0];
    core::ValidateOptions options;
    const std::string mode = a.get("missing-files", a.has("schema-only") ? "skip" : "error");
    if (mode == "error")
        options.missing_files = core::FileCheck::Error;
    else if (mode == "warn" || mode == "warning")
        options.missing_files = core::FileCheck::Warning;
    else if (mode == "skip")
        options.missing_files = core::FileCheck::Skip;
    else
        throw std::invalid_argument("--missing-files expects error, warn or skip, got '" + mode + "'");

    const core::ExperimentCheck check = core::checkExperimentFile(file, options);
    for (const auto& e : check.errors)
        std::cerr << core::formatIssue(e, file) << "\n";
    for (const auto& w : check.warnings)
        std::cerr << core::formatIssue(w, file) << " (warning)\n";
    if (!check.ok()) {
        std::cerr << file << ": " << check.errors.size() << " error(s)\n";
        for (const auto& e : check.errors)
            if (e.message.find("does not exist") != std::string::npos) {
                std::cerr << "(external files can be checked later: --missing-files warn checks everything else)\n";
                break;
            }
        return 1;
    }
    if (a.has("print"))
        std::cout << core::toYaml(check.config, true);
    else if (a.has("json"))
        std::cout << core::canonicalJson(check.config) << "\n";
    else if (!a.has("quiet"))
        std::cout << file << ": ok" << (check.warnings.empty() ? "" : " (" + std::to_string(check.warnings.size()) + " warning(s))")
                  << "\n";
    return 0;
}

const CommandRegistrar kValidateRegistrar({"validate", "check an experiment file against the schema", runValidate});

}  // namespace cmd_validate_detail
}  // namespace recalign::cli
