# cmake -DMODE=find_package|add_subdirectory -DBUILD_TREE=... -DSOURCE_TREE=... -DWORK=...
#       -DCONSUMER=... -DTorch_DIR=... -DCaffe2_DIR=... [-DLAUNCHER=ccache] -P build_consumer.cmake
function(run)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE result)
  if(NOT result EQUAL 0)
    message(FATAL_ERROR "failed (${result}): ${ARGN}")
  endif()
endfunction()

file(REMOVE_RECURSE ${WORK})
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
