#!/usr/bin/env bash
# The README's main command: installs, builds, and runs the main job on the bundled sample data.
# (Until the harmonization program lands this runs the engine's self-check on the CPU.)
set -euo pipefail
cd "$(dirname "$0")/.."
tools/install-deps.sh
tools/build.sh
ctest --test-dir build -L engine --output-on-failure
