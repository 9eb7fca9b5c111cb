# Checks and fixes for the LibTorch that find_package(Torch) found, used by the build
# (cmake/torchclrTorch.cmake) and by the installed torchclrConfig.cmake.

# TorchConfig.cmake finds its Caffe2 config (the imported targets) through CMAKE_PREFIX_PATH and
# the system's folders, not beside itself: with Torch_DIR alone pointing at a wheel or an archive,
# and Debian's libtorch-dev installed, `torch` would be Debian's LibTorch behind the other one's
# headers. A clear error instead of undefined references at link time.
function(torchclr_check_one_libtorch)
  get_filename_component(torch_configs "${Torch_DIR}/.." REALPATH)
  get_filename_component(caffe2_configs "${Caffe2_DIR}/.." REALPATH)
  if(Caffe2_DIR AND NOT torch_configs STREQUAL caffe2_configs)
    message(FATAL_ERROR "torchclr: Torch_DIR is ${Torch_DIR} but its Caffe2 config came from "
                        "${Caffe2_DIR}, another LibTorch. Point CMAKE_PREFIX_PATH at the LibTorch "
                        "to use (for PyTorch's wheel: python -c 'import torch; "
                        "print(torch.utils.cmake_prefix_path)'), or set Caffe2_DIR as well.")
  endif()
endfunction()

# PyTorch's wheel: libtorch_cuda.so loads the CUDA, cuDNN and NCCL libraries of NVIDIA's wheels
# installed beside it (site-packages/nvidia/*/lib, through its own RPATH), but Torch's CMake
# config links programs against the CUDA toolkit's libcudart and puts the toolkit's folder on
# their RPATH. Where the toolkit carries an older NCCL or CUDA runtime, the linker then resolves
# libtorch_cuda.so's dependencies there (undefined reference to `ncclCommSuspend' ...) and the
# loader mixes two CUDA runtimes. torchclr_use_wheel_runtime(<target>) puts the wheel's library
# folders first on the RPATH of every program that links <target>, so that both take the wheel's
# libraries; it does nothing for other LibTorch layouts (Debian's, the LibTorch archive).
# Used by the build (cmake/torchclrTorch.cmake) and by the installed torchclrConfig.cmake.
function(torchclr_use_wheel_runtime target)
  file(GLOB wheel_dirs LIST_DIRECTORIES true "${TORCH_INSTALL_PREFIX}/../nvidia/*/lib")
  if(NOT wheel_dirs)
    return()
  endif()
  list(JOIN wheel_dirs ":" joined)
  get_target_property(imported ${target} IMPORTED)
  if(imported)
    set(option "LINKER:-rpath,${joined}")
  else()
    # Not exported: an installed torchclr computes this for the LibTorch its user finds.
    set(option "$<BUILD_INTERFACE:LINKER:-rpath,${joined}>")
  endif()
  get_target_property(options ${target} INTERFACE_LINK_OPTIONS)
  if(NOT option IN_LIST options)  # a second find_package(torchclr) adds nothing
    set_property(TARGET ${target} APPEND PROPERTY INTERFACE_LINK_OPTIONS "${option}")
  endif()
endfunction()
