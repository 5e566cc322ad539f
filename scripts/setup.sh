#!/usr/bin/env bash
# Installs every Debian package winq needs to build, test and run its demo.
# Idempotent: when everything is already installed it only checks and returns.
set -euo pipefail

PACKAGES=(
  build-essential cmake ninja-build pkg-config git
  zlib1g-dev libgtest-dev libgmock-dev libbenchmark-dev libdnnl-dev libxnnpack-dev libpthreadpool-dev
  libcli11-dev libfmt-dev nlohmann-json3-dev libgmp-dev libstb-dev
  libprotobuf-dev protobuf-compiler libonnx-dev libonnx-testdata
  libtorch-dev
  clang libclang-rt-14-dev
  python3 python3-numpy python3-onnx python3-torch python3-torchvision
  dataset-fashion-mnist
  chromium fonts-dejavu-core
)
# Node.js runs ONNX Runtime (our interoperability check). A machine may already
# carry its own Node.js build that bundles npm; Debian's npm would conflict with it.
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  PACKAGES+=(nodejs npm)
fi

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if ((${#missing[@]})); then
  echo "setup: installing ${#missing[@]} Debian package(s): ${missing[*]}"
  SUDO=""
  if [[ $(id -u) -ne 0 ]]; then SUDO="sudo"; fi
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
else
  echo "setup: all ${#PACKAGES[@]} Debian packages present"
fi

# ONNX Runtime from npm, for the interoperability tests (Node drives it: the npm
# package ships the CPU library but no C header). Installed inside the checkout.
# ONNXRUNTIME_NODE_INSTALL=skip: its install script would fetch GPU libraries.
root="$(cd "$(dirname "$0")/.." && pwd)"
ort_dir="$root/.deps/ort"
if [[ ! -f "$ort_dir/node_modules/onnxruntime-node/package.json" ]]; then
  echo "setup: installing onnxruntime-node (npm) into .deps/ort"
  mkdir -p "$ort_dir"
  ONNXRUNTIME_NODE_INSTALL=skip npm install --prefix "$ort_dir" --no-audit --no-fund --loglevel=error \
    onnxruntime-node@1 > /dev/null
else
  echo "setup: onnxruntime-node present"
fi
