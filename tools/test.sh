#!/usr/bin/env bash
# The README's test command: installs the dependencies, builds, and runs the whole test suite.
# CUDA parity tests report Skipped (with the reason) on machines without a GPU.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/install-deps.sh
tools/build.sh -DIMUNITY_WERROR=ON "$@"   # CI: zero warnings
ctest --test-dir build -j "$(nproc)" --output-on-failure --timeout 1200
