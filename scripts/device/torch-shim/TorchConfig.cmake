# A minimal TorchConfig.cmake for a pip-installed torch whose own CMake package cannot be used on
# a bare machine (its CUDA/cuDNN discovery wants a matching toolkit and cuDNN headers). Used by
# scripts/device/gpu-check.sh as -DTorch_DIR=<this folder>; the project only needs the `torch` target.
# Inputs (cache variables): RECALIGN_TORCH_LIBDIR (torch/lib), RECALIGN_TORCH_INCLUDE_DIRS (list),
# RECALIGN_TORCH_CXX11_ABI (0|1), RECALIGN_TORCH_LINK_DIRS (extra -rpath-link folders, optional),
# RECALIGN_TORCH_CUDA_INCLUDE_DIRS (CUDA / NCCL headers for a CUDA torch, optional).
if(TARGET torch)
    return()
endif()
foreach(var RECALIGN_TORCH_LIBDIR RECALIGN_TORCH_INCLUDE_DIRS RECALIGN_TORCH_CXX11_ABI)
    if(NOT DEFINED ${var})
        message(FATAL_ERROR "torch shim: ${var} is not set (see scripts/device/gpu-check.sh)")
    endif()
endforeach()

set(_recalign_torch_libs "")
foreach(name torch torch_cpu c10 torch_cuda c10_cuda)
    if(EXISTS "${RECALIGN_TORCH_LIBDIR}/lib${name}.so")
        list(APPEND _recalign_torch_libs "${RECALIGN_TORCH_LIBDIR}/lib${name}.so")
    elseif(name STREQUAL "torch" OR name STREQUAL "torch_cpu" OR name STREQUAL "c10")
        message(FATAL_ERROR "torch shim: ${RECALIGN_TORCH_LIBDIR}/lib${name}.so not found")
    endif()
endforeach()

# A CUDA torch: TORCH_CUDA_LIBRARIES tells core/dist to compile the NCCL group, whose headers
# include c10/cuda and nccl.h — the CUDA headers come from RECALIGN_TORCH_CUDA_INCLUDE_DIRS (the
# toolkit's include folder or pip's nvidia/*/include folders).
set(_recalign_torch_includes "${RECALIGN_TORCH_INCLUDE_DIRS}")
if(EXISTS "${RECALIGN_TORCH_LIBDIR}/libtorch_cuda.so")
    set(TORCH_CUDA_LIBRARIES "${RECALIGN_TORCH_LIBDIR}/libtorch_cuda.so;${RECALIGN_TORCH_LIBDIR}/libc10_cuda.so")
    list(APPEND _recalign_torch_includes ${RECALIGN_TORCH_CUDA_INCLUDE_DIRS})
endif()

add_library(torch INTERFACE IMPORTED)
# --no-as-needed keeps libtorch_cuda.so (nothing references it directly; its static initialisers
# register the CUDA backend). --allow-shlib-undefined: torch's own dependencies (CUDA runtime,
# cuBLAS, ... from pip's nvidia packages) are found at run time through torch's RUNPATH.
set_target_properties(torch PROPERTIES
    INTERFACE_INCLUDE_DIRECTORIES "${_recalign_torch_includes}"
    INTERFACE_COMPILE_OPTIONS "-D_GLIBCXX_USE_CXX11_ABI=${RECALIGN_TORCH_CXX11_ABI}"
    INTERFACE_LINK_LIBRARIES "-Wl,--no-as-needed;${_recalign_torch_libs};-Wl,--as-needed;Threads::Threads;${CMAKE_DL_LIBS}")
set(_recalign_torch_link_options "LINKER:--allow-shlib-undefined")
foreach(dir IN LISTS RECALIGN_TORCH_LINK_DIRS)
    list(APPEND _recalign_torch_link_options "LINKER:-rpath-link,${dir}")
endforeach()
set_property(TARGET torch PROPERTY INTERFACE_LINK_OPTIONS "${_recalign_torch_link_options}")

find_package(Threads REQUIRED)
set(TORCH_LIBRARIES torch)
set(TORCH_INCLUDE_DIRS "${_recalign_torch_includes}")
set(TORCH_CXX_FLAGS "-D_GLIBCXX_USE_CXX11_ABI=${RECALIGN_TORCH_CXX11_ABI}")
set(Torch_FOUND TRUE)
set(TORCH_FOUND TRUE)
message(STATUS "torch shim: ${_recalign_torch_libs}")
