#!/usr/bin/env bash
# Installs the Debian 12 packages imunity builds and tests with (apt; sudo when not root).
# The CUDA toolkit (nvcc, cuDNN 9, cuBLAS) is expected under /usr/local/cuda when present; without
# it the build is CPU-only.
set -euo pipefail
pkgs=(build-essential cmake ninja-build pkg-config zlib1g-dev libnifti2-dev libeigen3-dev catch2
      nlohmann-json3-dev libcli11-dev libpng-dev libdeflate-dev libsvm-dev
      libinsighttoolkit5-dev chromium ${IMUNITY_EXTRA_PKGS:-})   # ITK: N4; chromium: the QC report's rendering test
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#pkgs[@]} packages present"
  exit 0
fi
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
echo "install-deps: installing ${missing[*]}"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
