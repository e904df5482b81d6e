// `recalign`: the headless CLI. Dispatches to the registered commands (cmd_*.cpp).
#include "app/cli/command.h"

#include "core/api/info.h"

#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <stdexcept>

// The thread pools' start-up settings before any library's initialiser (core/api/info.h).
RECALIGN_PRESET_THREAD_POOLS;

namespace {
int usage()
{
    std::cout << "usage: recalign <command> [options]\n\ncommands:\n";
    for (const auto& [name, c] : recalign::cli::commands())
        std::cout << "  " << name << std::string(name.size() < 12 ? 12 - name.size() : 1, ' ') << c.summary << "\n";
    std::cout << "\nrecalign <command> --help shows a command's options.\n";
    return 2;
}
}  // namespace

int main(int argc, char** argv)
{
    if (argc < 2)
        return usage();
    const std::string name = argv[1];
    if (name == "help" || name == "--help" || name == "-h") {
        usage();
        return 0;
    }
    const auto& cmds = recalign::cli::commands();
    auto it = cmds.find(name);
    if (it == cmds.end()) {
        std::cerr << "recalign: unknown command '" << name << "'\n";
        return usage();
    }
    // The allocator policy first: it must be in force before the first large allocation.
    recalign::core::applyAllocatorPolicy();
    // OpenBLAS's kernels for this CPU before any product (core/api/info.h).
    recalign::core::applyBlasCorePolicy();
    // Threads: the budget is $RECALIGN_THREADS, else the cores (divided among local processes);
    // before any torch op, the process default for an unknown model (the budget to torch,
    // OpenBLAS one thread). A run applies the plan for its model (core/api/info.h).
    int threads = 0;
    if (const char* t = std::getenv("RECALIGN_THREADS"); t && *t)
        threads = std::atoi(t);
    recalign::core::applyThreadPlan(threads, 0, false);
    const auto blas = recalign::core::systemInfo().blas;
    if (const auto warning = recalign::core::blasWarning(blas); !warning.empty())
        std::cerr << warning << "\n";
    std::vector<std::string> args(argv + 2, argv + argc);
    try {
        return it->second.run(args);
    } catch (const std::invalid_argument& e) {
        std::cerr << "recalign " << name << ": " << e.what() << "\n";
        return 2;
    } catch (const std::exception& e) {
        std::cerr << "recalign " << name << ": error: " << e.what() << "\n";
        return 1;
    }
}
