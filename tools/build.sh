#!/usr/bin/env bash
# Configures and builds imunity into build/ (CUDA backend when nvcc and cuDNN are found). This is the
# developers' build: warnings are errors. Extra CMake arguments pass through and win, e.g.
# tools/build.sh -DIMUNITY_CUDA=OFF, or -DIMUNITY_WERROR=OFF for a build that only warns (tools/demo.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/local/cuda/bin"
jobs=$(nproc)
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DIMUNITY_WERROR=ON "$@"
cmake --build build -j "$jobs"
