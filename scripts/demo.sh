#!/usr/bin/env bash
# README command 1: set up, build, and run the main job on the embedded default
# data (the shipped model and Debian's Fashion-MNIST). Extra args go to `winq demo`.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
bash "$root/scripts/setup.sh"
bash "$root/scripts/build.sh"
exec "$root/build/winq" demo "$@"
