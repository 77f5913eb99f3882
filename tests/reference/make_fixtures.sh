#!/usr/bin/env bash
# Regenerates every reference fixture with Debian's PyTorch (python3-torch) and nibabel/skimage.
# The fixtures are committed; the tests never run this script. Usage: tests/reference/make_fixtures.sh
set -euo pipefail
cd "$(dirname "$0")"
py=/usr/bin/python3   # Debian's interpreter, where python3-torch is installed
for s in torch_*.py make_*.py; do
  [ -e "$s" ] || continue
  echo "== $s"
  "$py" "$s"
done
