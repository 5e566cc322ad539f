#!/usr/bin/env bash
# Configures and builds winq (Release, -O2) into build/. Extra args go to CMake.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cmake -S "$root" -B "$root/build" -G Ninja -DCMAKE_BUILD_TYPE=Release "$@" > /dev/null
cmake --build "$root/build" --parallel "$(nproc)"
