# cmake -DMODE=find_package|add_subdirectory|build_type -DBUILD_TREE=... -DSOURCE_TREE=... -DWORK=...
#       -DCONSUMER=... -DTorch_DIR=... -DCaffe2_DIR=... [-DLAUNCHER=ccache] -P build_consumer.cmake
function(run)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE result)
  if(NOT result EQUAL 0)
    message(FATAL_ERROR "failed (${result}): ${ARGN}")
  endif()
endfunction()

file(REMOVE_RECURSE ${WORK})

# MODE=build_type: configure only, through add_subdirectory and without a build type; torchclr
# must leave the parent's (empty) build type alone.
if(MODE STREQUAL "build_type")
  run(${CMAKE_COMMAND} -S ${CONSUMER} -B ${WORK}/build -DTorch_DIR=${Torch_DIR}
      -DCaffe2_DIR=${Caffe2_DIR} -DTORCHCLR_SOURCE_DIR=${SOURCE_TREE}
      -DTORCHCLR_CONSUME=add_subdirectory)
  load_cache(${WORK}/build READ_WITH_PREFIX consumer_ CMAKE_BUILD_TYPE)
  if(NOT "${consumer_CMAKE_BUILD_TYPE}" STREQUAL "")
    message(FATAL_ERROR "expected the consumer's build type to stay empty, but torchclr set it "
                        "to '${consumer_CMAKE_BUILD_TYPE}'")
  endif()
  return()
endif()

set(configure_args -DCMAKE_BUILD_TYPE=Release -DTorch_DIR=${Torch_DIR} -DCaffe2_DIR=${Caffe2_DIR}
    "-DCMAKE_CXX_COMPILER_LAUNCHER=${LAUNCHER}")
if(MODE STREQUAL "find_package")
  run(${CMAKE_COMMAND} --install ${BUILD_TREE} --prefix ${WORK}/prefix)
  list(APPEND configure_args -DCMAKE_PREFIX_PATH=${WORK}/prefix -DTORCHCLR_CONSUME=find_package)
else()
  list(APPEND configure_args -DTORCHCLR_SOURCE_DIR=${SOURCE_TREE}
       -DTORCHCLR_CONSUME=add_subdirectory)
endif()
run(${CMAKE_COMMAND} -S ${CONSUMER} -B ${WORK}/build ${configure_args})
run(${CMAKE_COMMAND} --build ${WORK}/build -j 2)
run(${WORK}/build/consumer)
