# cmake -DSOURCE_TREE=... -DWORK=... -DTorch_DIR=... -DCaffe2_DIR=... -P require_distributed.cmake
# Configures torchclr as scripts/test.sh does (TORCHCLR_REQUIRE_DISTRIBUTED=ON) on a machine
# without Gloo's headers (TORCHCLR_HAVE_GLOO_HEADERS=OFF in the cache stands for them): the
# configuration must fail, naming the reason, instead of building without the data-parallel tests.
file(REMOVE_RECURSE ${WORK})
execute_process(
  COMMAND ${CMAKE_COMMAND} -S ${SOURCE_TREE} -B ${WORK} -DTorch_DIR=${Torch_DIR}
          -DCaffe2_DIR=${Caffe2_DIR}
          -DTORCHCLR_HAVE_GLOO_HEADERS=OFF -DTORCHCLR_REQUIRE_DISTRIBUTED=ON
          -DTORCHCLR_BUILD_TESTS=OFF -DTORCHCLR_BUILD_EXAMPLES=OFF -DTORCHCLR_BUILD_BENCHMARKS=OFF
  RESULT_VARIABLE result OUTPUT_VARIABLE output ERROR_VARIABLE errors)
if(result EQUAL 0)
  message(FATAL_ERROR "configured without Gloo although TORCHCLR_REQUIRE_DISTRIBUTED is ON:\n"
                      "${output}${errors}")
endif()
string(REGEX REPLACE "[ \n]+" " " errors "${errors}")
string(FIND "${errors}" "Gloo headers not found (Debian: libgloo-dev), but TORCHCLR_REQUIRE_DISTRIBUTED is ON" at)
if(at EQUAL -1)
  message(FATAL_ERROR "the configuration failed for another reason:\n${errors}")
endif()
file(REMOVE_RECURSE ${WORK})
