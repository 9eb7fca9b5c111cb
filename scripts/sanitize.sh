#!/usr/bin/env bash
# The sanitizer lane: builds torchclr, its tests and the CIFAR-10 example with AddressSanitizer
# and UndefinedBehaviorSanitizer in their own build directory, then runs the test suite there
# (the packaging tests excepted: their consumer projects are built without the sanitizers).
# LibTorch itself is not instrumented; it leaks some memory at exit by design, so leak detection
# is off. Any other report fails the run.
# usage: scripts/sanitize.sh [extra ctest arguments]
#   SANITIZE_BUILD_DIR  build directory (default build-sanitize)
#   JOBS                parallel compile and test jobs (default: the core count)
#   TIME_SCALE          factor for the end-to-end tests' time limits (default 4: instrumented
#                       processes, niced on a shared machine, run several times slower)
set -euo pipefail
cd "$(dirname "$0")/.."
build=${SANITIZE_BUILD_DIR:-build-sanitize}
jobs=${JOBS:-$(nproc 2>/dev/null || echo 2)}
sanitizers="-fsanitize=address,undefined -fno-sanitize-recover=undefined"
launcher=()
if command -v ccache > /dev/null; then launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache); fi

start=$(date +%s)
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo "${launcher[@]}" \
  -DCMAKE_CXX_FLAGS="$sanitizers -fno-omit-frame-pointer" \
  -DCMAKE_EXE_LINKER_FLAGS="$sanitizers" -DCMAKE_SHARED_LINKER_FLAGS="$sanitizers" \
  -DTORCHCLR_BUILD_BENCHMARKS=OFF -DTORCHCLR_TEST_TIME_SCALE="${TIME_SCALE:-4}"
cmake --build "$build" -j "$jobs"
built=$(date +%s)

export ASAN_OPTIONS=detect_leaks=0:abort_on_error=1:strict_string_checks=1:detect_stack_use_after_return=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
status=0
ctest --test-dir "$build" --output-on-failure -j "$jobs" -LE packaging "$@" || status=$?
echo "sanitizer lane: build $((built - start)) s, tests $(($(date +%s) - built)) s"
exit "$status"
