// `recalign bench <what>`: benchmarks that print figures (bench_*.cpp register the subcommands).
#include "app/cli/command.h"

namespace recalign::cli {
namespace {
int runBench(const std::vector<std::string>& args) { return dispatchGroup("bench", args); }
const CommandRegistrar kBenchRegistrar({"bench", "benchmarks: sasrec, llm, train, scale, data", runBench});
}  // namespace
}  // namespace recalign::cli
