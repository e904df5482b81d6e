// Torch runtime glue and system information (versions, BLAS detection, devices).
#include "core/runtime/runtime.h"

#include "core/api/error.h"
#include "core/api/info.h"
#include "core/tokenizer/tokenizer.h"

#include <ATen/Parallel.h>
#include <torch/cuda.h>
#include <torch/utils.h>
#include <torch/version.h>

#include <dlfcn.h>
#include <sqlite3.h>

namespace recalign::core {

torch::Device resolveDevice(const DeviceSpec& spec)
{
    switch (spec.kind) {
    case DeviceSpec::Kind::Cpu:
        return torch::Device(torch::kCPU);
    case DeviceSpec::Kind::Auto:
        return torch::cuda::is_available() ? torch::Device(torch::kCUDA) : torch::Device(torch::kCPU);
    case DeviceSpec::Kind::Cuda:
        if (!torch::cuda::is_available())
            throw CoreException(ErrorCode::InvalidConfig,
                                "device '" + spec.toString()
                                    + "': CUDA is not available in this libtorch build (use cpu or auto)",
                                "device");
        if (spec.index >= static_cast<int>(torch::cuda::device_count()))
            throw CoreException(ErrorCode::InvalidConfig,
                                "device '" + spec.toString() + "': only "
                                    + std::to_string(torch::cuda::device_count()) + " CUDA device(s)",
                                "device");
        return spec.index < 0 ? torch::Device(torch::kCUDA)
                              : torch::Device(torch::kCUDA, static_cast<c10::DeviceIndex>(spec.index));
    }
    return torch::Device(torch::kCPU);
}

torch::Device resolveDevice(const std::string& text)
{
    auto spec = parseDevice(text);
    if (!spec)
        throw CoreException(spec.error().code, spec.error().message, spec.error().where);
    return resolveDevice(spec.value());
}

void seedTorch(uint64_t seed)
{
    torch::manual_seed(seed);
    if (torch::cuda::is_available())
        torch::cuda::manual_seed_all(seed);
}

namespace runtime_detail {

// OpenBLAS's thread functions when OpenBLAS is the loaded BLAS (null otherwise).
struct OpenBlasThreads {
    int (*get)() = nullptr;
    void (*set)(int) = nullptr;
};

OpenBlasThreads openBlasThreads()
{
    OpenBlasThreads f;
    f.get = reinterpret_cast<int (*)()>(dlsym(RTLD_DEFAULT, "openblas_get_num_threads"));
    f.set = reinterpret_cast<void (*)(int)>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads"));
    return f;
}

}  // namespace runtime_detail

int setComputeThreads(int torchThreads, int blasThreads)
{
    if (torchThreads > 0)
        at::set_num_threads(torchThreads);
    if (blasThreads > 0)
        if (const auto blas = runtime_detail::openBlasThreads(); blas.set)
            blas.set(blasThreads);
    return at::get_num_threads();
}

ScopedBlasThreads::ScopedBlasThreads(int threads)
{
    const auto blas = runtime_detail::openBlasThreads();
    if (threads <= 0 || !blas.get || !blas.set)
        return;
    const int previous = blas.get();
    if (previous == threads)
        return;
    blas.set(threads);
    m_previous = previous;
}

ScopedBlasThreads::~ScopedBlasThreads()
{
    if (m_previous > 0)
        runtime_detail::openBlasThreads().set(m_previous);
}

namespace runtime_detail {

BlasInfo detectBlas()
{
    BlasInfo info;
    void* sgemm = dlsym(RTLD_DEFAULT, "sgemm_");
    if (sgemm) {
        Dl_info dl;
        if (dladdr(sgemm, &dl) && dl.dli_fname)
            info.library_path = dl.dli_fname;
    }
    using ConfigFn = char* (*)();
    if (auto cfg = reinterpret_cast<ConfigFn>(dlsym(RTLD_DEFAULT, "openblas_get_config"))) {
        info.name = "OpenBLAS";
        info.config = cfg();
    } else if (dlsym(RTLD_DEFAULT, "mkl_get_version")) {
        info.name = "MKL";
    } else if (dlsym(RTLD_DEFAULT, "bli_info_get_version_str")) {
        info.name = "BLIS";
    } else if (info.library_path.find("/blas/") != std::string::npos) {
        info.name = "reference BLAS";
        info.is_reference = true;
    } else if (!info.library_path.empty()) {
        info.name = "unknown BLAS";
    } else {
        info.name = "none linked (torch's own kernels)";
    }
    return info;
}

}  // namespace runtime_detail

std::string blasWarning(const BlasInfo& blas)
{
    if (!blas.is_reference)
        return {};
    return "WARNING: the reference BLAS (" + blas.library_path
        + ") is active: matrix products run ~30x slower. Install libopenblas0-pthread "
          "(scripts/bootstrap.sh does) or select it with update-alternatives.";
}

SystemInfo systemInfo()
{
    SystemInfo s;
#ifdef RECALIGN_VERSION
    s.app_version = RECALIGN_VERSION;
#endif
#ifdef RECALIGN_GIT_COMMIT
    s.git_commit = RECALIGN_GIT_COMMIT;
#endif
    s.torch_version = TORCH_VERSION;
    s.sqlite_version = sqlite3_libversion();
    const auto tok = tokenizerModuleInfo();
    s.sentencepiece_version = tok.library_version;
    s.tokenizer_module_path = tok.path;
    s.tokenizer_module_error = tok.error;
    s.blas = runtime_detail::detectBlas();
    s.intra_op_threads = at::get_num_threads();
    s.cuda_available = torch::cuda::is_available();
    for (size_t i = 0; i < (s.cuda_available ? torch::cuda::device_count() : 0); ++i)
        s.cuda_devices.push_back("cuda:" + std::to_string(i));
    return s;
}

}  // namespace recalign::core
