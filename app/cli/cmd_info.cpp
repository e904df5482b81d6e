// `recalign info`: versions, BLAS, threads, devices and the tokenizer module.
#include "app/cli/command.h"

#include "core/api/info.h"

#include <iostream>

namespace recalign::cli {
namespace {

int runInfo(const std::vector<std::string>& args)
{
    Args a(args, {}, {"help"});
    if (a.has("help")) {
        std::cout << "usage: recalign info\n";
        return 0;
    }
    const core::SystemInfo s = core::systemInfo();
    std::cout << "RecAlign Studio " << s.app_version << (s.git_commit.empty() ? "" : " (" + s.git_commit + ")") << "\n"
              << "core:              Qt-free (libtorch " << s.torch_version << ")\n"
              << "libtorch:          " << s.torch_version << "\n"
              << "sqlite:            " << s.sqlite_version << "\n"
              << "sentencepiece:     " << (s.sentencepiece_version.empty() ? "not loaded" : s.sentencepiece_version) << "\n"
              << "tokenizer module:  " << (s.tokenizer_module_path.empty() ? "NOT LOADED: " + s.tokenizer_module_error : s.tokenizer_module_path) << "\n"
              << "BLAS:              " << s.blas.name << (s.blas.library_path.empty() ? "" : " (" + s.blas.library_path + ")") << "\n";
    if (!s.blas.config.empty())
        std::cout << "BLAS config:       " << s.blas.config << "\n";
    std::cout << "allocator:         " << s.allocator.describe() << "\n";
    std::cout << "BLAS kernels:      " << s.blas_core.describe() << "\n";
    std::cout << "OpenMP wait:       " << s.omp_wait.describe() << "\n";
    std::cout << "OpenBLAS start:    " << s.blas_start.describe() << "\n";
    std::cout << "intra-op threads:  " << s.intra_op_threads << "\n"
              << "CUDA:              " << (s.cuda_available ? "available" : "not available") << "\n";
    for (const auto& d : s.cuda_devices)
        std::cout << "  device " << d << "\n";
    if (const auto w = core::blasWarning(s.blas); !w.empty())
        std::cout << w << "\n";
    return s.tokenizer_module_path.empty() ? 1 : 0;
}

const CommandRegistrar kInfoRegistrar({"info", "versions, BLAS, threads, devices, tokenizer module", runInfo});

}  // namespace
}  // namespace recalign::cli
