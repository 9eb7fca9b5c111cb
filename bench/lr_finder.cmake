# The range test against plain training (included from bench/CMakeLists.txt).
add_executable(lr_finder_bench ${CMAKE_CURRENT_LIST_DIR}/lr_finder_bench.cpp)
target_link_libraries(lr_finder_bench PRIVATE torchclr::torchclr benchmark::benchmark)
target_compile_options(lr_finder_bench PRIVATE -Wall -Wextra)
torchclr_reuse_pch(lr_finder_bench)
