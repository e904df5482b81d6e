// SystemInfo: versions, BLAS, threads and devices, as `recalign info` and the status bar show them.
#pragma once

#include <string>
#include <vector>

namespace recalign::core {

struct BlasInfo {
    std::string library_path;  // the shared object that provides sgemm_
    std::string name;          // "OpenBLAS", "reference BLAS", "MKL", ...
    std::string config;        // openblas_get_config() when available
    bool is_reference = false; // true = the slow netlib reference BLAS: warn loudly
};

struct SystemInfo {
    std::string app_version;
    std::string torch_version;
    std::string sqlite_version;
    std::string sentencepiece_version;
    std::string tokenizer_module_path;
    std::string tokenizer_module_error;
    BlasInfo blas;
    int intra_op_threads = 0;
    bool cuda_available = false;
    std::vector<std::string> cuda_devices;
    std::string git_commit;  // project commit the binary was built from
};

// Gathers the information (loads the tokenizer module if needed). Never throws.
SystemInfo systemInfo();

// The warning to print when the reference BLAS is active ("" otherwise).
std::string blasWarning(const BlasInfo& blas);

// Process-wide compute threads, set once at program start before any torch op: torch's intra-op
// threads and OpenBLAS's own pool (the pthread OpenBLAS ignores torch's setting). 0 leaves a
// value unchanged. Returns the torch thread count now in effect. Defined in core/runtime (the one
// place threads are set); declared here so torch-free callers (app/, the CLI) can reach it.
int setComputeThreads(int torchThreads, int blasThreads = 0);

}  // namespace recalign::core
