# Included from tests/CMakeLists.txt: the example's tests link its library, so they exist only
# when the examples are built.
if(TORCHCLR_BUILD_EXAMPLES)
  torchclr_add_test(torchclr_cifar10_tests cifar10_test.cpp)
endif()
