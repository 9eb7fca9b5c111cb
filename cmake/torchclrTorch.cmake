# Finds LibTorch and what torchclr builds on top of it (included from the top-level
# CMakeLists.txt). Works with Debian's libtorch-dev (1.13), PyTorch's wheel
# (`python -c 'import torch; print(torch.utils.cmake_prefix_path)'`) and the LibTorch archive:
# point CMAKE_PREFIX_PATH or Torch_DIR at the one to use.
#
# Sets: TORCHCLR_WITH_DISTRIBUTED (0/1), TORCHCLR_WITH_NCCL (0/1), TORCHCLR_NCCL_INCLUDE_DIR.

find_package(Torch REQUIRED)
# Link the imported target `torch` (torch_cpu, c10 and, where built, torch_cuda), not
# TORCH_LIBRARIES: TorchConfig's find_library() calls search the system first, so with Debian's
# libtorch-dev installed beside a wheel or archive, TORCH_LIBRARIES would mix in /usr/lib's
# libc10.so of another version.
message(STATUS "torchclr: LibTorch ${Torch_VERSION} in ${TORCH_INSTALL_PREFIX}")
include(${CMAKE_CURRENT_LIST_DIR}/torchclrTorchSupport.cmake)
torchclr_check_one_libtorch()

if(NOT TORCHCLR_TOP_LEVEL)
  # torchclr::torchclr links Torch's imported targets; make them visible to the parent project
  # that add_subdirectory()'d us, not only to this directory.
  get_directory_property(torchclr_imported_targets IMPORTED_TARGETS)
  foreach(imported IN LISTS torchclr_imported_targets)
    get_target_property(is_global ${imported} IMPORTED_GLOBAL)
    if(NOT is_global)
      set_target_properties(${imported} PROPERTIES IMPORTED_GLOBAL TRUE)
    endif()
  endforeach()
endif()

# torchclr/distributed.h: c10d with Gloo. ProcessGroupGloo.hpp includes Gloo's own headers, which
# no LibTorch ships (Debian: libgloo-dev).
if(TORCHCLR_DISTRIBUTED)
  include(CheckIncludeFileCXX)
  set(CMAKE_REQUIRED_INCLUDES ${TORCH_INCLUDE_DIRS})
  check_include_file_cxx(gloo/rendezvous/store.h TORCHCLR_HAVE_GLOO_HEADERS)
  unset(CMAKE_REQUIRED_INCLUDES)
  if(NOT TORCHCLR_HAVE_GLOO_HEADERS)
    set(torchclr_no_distributed "Gloo headers not found (Debian: libgloo-dev)")
    if(NOT TORCHCLR_REQUIRE_DISTRIBUTED)
      message(WARNING "torchclr: ${torchclr_no_distributed}; building without "
                      "torchclr/distributed.h and its tests")
    endif()
    set(TORCHCLR_DISTRIBUTED OFF)
  endif()
else()
  set(torchclr_no_distributed "TORCHCLR_DISTRIBUTED is OFF")
endif()
# Without them the data-parallel tests are not built at all: CI must not pass on fewer tests.
if(TORCHCLR_REQUIRE_DISTRIBUTED AND NOT TORCHCLR_DISTRIBUTED)
  message(FATAL_ERROR "torchclr: ${torchclr_no_distributed}, but TORCHCLR_REQUIRE_DISTRIBUTED is "
                      "ON: torchclr/distributed.h and its tests cannot be built")
endif()
if(TORCHCLR_DISTRIBUTED)
  set(TORCHCLR_WITH_DISTRIBUTED 1)
else()
  set(TORCHCLR_WITH_DISTRIBUTED 0)
endif()

# NCCL, exactly when this LibTorch has it: a CUDA build with c10d's NCCL backend exports
# USE_C10D_NCCL on torch_cuda. Its headers include nccl.h, taken from the NVIDIA NCCL wheel beside
# PyTorch's wheel (the library that wheel loads), NCCL_ROOT, or the CUDA toolkit.
set(TORCHCLR_WITH_NCCL 0)
if(TORCHCLR_DISTRIBUTED AND TARGET torch_cuda)
  get_target_property(torchclr_cuda_definitions torch_cuda INTERFACE_COMPILE_DEFINITIONS)
  if("USE_C10D_NCCL" IN_LIST torchclr_cuda_definitions)
    find_path(TORCHCLR_NCCL_INCLUDE_DIR nccl.h
      HINTS "${TORCH_INSTALL_PREFIX}/../nvidia/nccl/include" "$ENV{NCCL_ROOT}/include"
            ${CUDAToolkit_INCLUDE_DIRS}
      DOC "Directory of the nccl.h that torchclr's NCCL backend compiles against")
    if(TORCHCLR_NCCL_INCLUDE_DIR)
      set(TORCHCLR_WITH_NCCL 1)
      message(STATUS "torchclr: NCCL backend on, nccl.h from ${TORCHCLR_NCCL_INCLUDE_DIR}")
    else()
      message(WARNING "torchclr: LibTorch has NCCL but nccl.h was not found (set NCCL_ROOT or "
                      "TORCHCLR_NCCL_INCLUDE_DIR); building without the NCCL backend")
    endif()
  endif()
endif()

# Compiles the NCCL side of c10d into `target`: USE_C10D_NCCL (exactly when LibTorch has NCCL, as
# ProcessGroupNCCL.hpp requires) and nccl.h's directory.
function(torchclr_use_nccl target)
  if(TORCHCLR_WITH_NCCL)
    target_compile_definitions(${target} PRIVATE USE_C10D_NCCL)
    target_include_directories(${target} PRIVATE ${TORCHCLR_NCCL_INCLUDE_DIR})
  endif()
endfunction()

# LibTorch's headers take most of the build: with TORCHCLR_PRECOMPILE_HEADERS, <torch/torch.h> is
# precompiled once, for the library, and every test, example and benchmark reuses it. GCC accepts
# a precompiled header only with the same code model, so those targets compile position
# independent like the library.
function(torchclr_reuse_pch target)
  if(TORCHCLR_PRECOMPILE_HEADERS)
    target_precompile_headers(${target} REUSE_FROM torchclr)
    target_compile_options(${target} PRIVATE -fPIC)
  endif()
endfunction()
