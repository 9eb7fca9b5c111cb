# Included from tests/CMakeLists.txt: the example's tests link its library, so they exist only
# when the examples are built.
if(TORCHCLR_BUILD_EXAMPLES)
  torchclr_add_test(torchclr_cifar10_tests cifar10_test.cpp)
endif()

# Two ranks of `cifar10 train` over loopback Gloo against one process (needs Fashion-MNIST from
# Debian's dataset-fashion-mnist, which scripts/install_deps.sh installs).
if(TORCHCLR_BUILD_EXAMPLES AND TORCHCLR_DISTRIBUTED)
  add_test(NAME cifar10_data_parallel_matches_one_process
    COMMAND bash ${PROJECT_SOURCE_DIR}/tests/data_parallel_example_test.sh $<TARGET_FILE:cifar10> 29733)
  set_tests_properties(cifar10_data_parallel_matches_one_process PROPERTIES TIMEOUT 300)
endif()
