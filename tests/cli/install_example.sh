#!/usr/bin/env bash
# The C++ API from outside: install winq from BUILD_DIR into a fresh prefix,
# build examples/quantize_and_run against it with find_package(winq), run it
# on the small model (float, W8A8 and int8 F(4,3) top-1 on 500 test images).
# Usage: install_example.sh SOURCE_DIR BUILD_DIR MODEL WORK_DIR
set -euo pipefail
src="$1"
build="$2"
model="$3"
work="$4"
rm -rf "$work"
mkdir -p "$work"
cmake --install "$build" --prefix "$work/prefix" > /dev/null
cmake -S "$src/examples/quantize_and_run" -B "$work/example" -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_PREFIX_PATH="$work/prefix" > /dev/null
cmake --build "$work/example" > /dev/null
"$work/example/quantize_and_run" "$model" 500 2
