# With R1VK_FUZZ=ON (clang only) the tests/fuzz/ targets link libFuzzer, and every target is
# compiled with libFuzzer's coverage instrumentation plus ASan + UBSan (any UB report aborts, so
# libFuzzer records the input). Use a build directory of its own: scripts/fuzz.sh uses build-fuzz/.
option(R1VK_FUZZ "Build the libFuzzer targets in tests/fuzz (clang only)" OFF)
if(R1VK_FUZZ)
  if(NOT CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
    message(FATAL_ERROR "R1VK_FUZZ=ON needs clang (libFuzzer): configure with -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_C_COMPILER=clang")
  endif()
  add_compile_options(-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer)
  add_link_options(-fsanitize=address,undefined)
endif()
