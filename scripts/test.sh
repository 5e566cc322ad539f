#!/usr/bin/env bash
# README command 2 (and CI): set up, build, run the whole test suite; then build
# the core tests under AddressSanitizer + UndefinedBehaviorSanitizer in
# build-asan/ and run them too; the concurrency tests under ThreadSanitizer in
# build-tsan/; then the libFuzzer targets (clang) replay their
# seeds and regression inputs and run 2,000 mutations each (scripts/fuzz.sh).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
jobs="$(nproc)"
bash "$root/scripts/setup.sh"

echo "== build (Release) =="
bash "$root/scripts/build.sh"
echo "== tests =="
ctest --test-dir "$root/build" --output-on-failure --parallel "$jobs"

echo "== build (ASan + UBSan) =="
cmake -S "$root" -B "$root/build-asan" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DWINQ_SANITIZE=ON \
  -DWINQ_WITH_TORCH=OFF > /dev/null
cmake --build "$root/build-asan" --parallel "$jobs"
echo "== tests under ASan + UBSan (label: core) =="
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  ctest --test-dir "$root/build-asan" -L core --output-on-failure --parallel "$jobs"

echo "== build (ThreadSanitizer, clang): the concurrency tests =="
CC=clang CXX=clang++ cmake -S "$root" -B "$root/build-tsan" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DWINQ_TSAN=ON \
  -DWINQ_WITH_TORCH=OFF > /dev/null
cmake --build "$root/build-tsan" --parallel "$jobs" --target winq_concurrency_tests
echo "== concurrency tests under ThreadSanitizer =="
TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 "$root/build-tsan/tests/winq_concurrency_tests"

echo "== fuzz smoke run (libFuzzer + ASan + UBSan, every target) =="
bash "$root/scripts/fuzz.sh" --runs 2000
