#!/usr/bin/env bash
# Makes the folder that travels with tools/gpu/run.sh to an offline GPU machine (the device tool's
# `carry`): the Debian 12 packages the build needs as .deb files (debs/) and the data subset
# (data/, tools/gpu/data-subset.sh). Run it here, where apt reaches Debian's archive:
#   tools/gpu/pack.sh [DEST]        DEST defaults to .gpu-carry (git-ignored); prints its size
# Environment: IMUNITY_DATA (default ../shared/data), GPU_PACK_DEBS_ONLY=1 (no data subset).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
dest=${1:-$root/.gpu-carry}
mkdir -p "$dest/debs"
dest=$(cd "$dest" && pwd)

# What CMakeLists.txt finds (headers, CMake configs, libraries) and the shared libraries those link
# against at run time; the compilers, CMake and CUDA come from the GPU image. nifti2_io.h and
# libniftiio come from libniftiio-dev, not libnifti2-dev. Not zlib1g: run.sh links zlib1g-dev's
# static libz.a (its libz.so is an absolute link into Debian's /lib), so no Debian libz.so.1 can
# shadow the image's own.
pkgs=(libeigen3-dev catch2 nlohmann-json3-dev libcli11-dev
      libniftiio-dev libniftiio2 libnifti2-dev libnifti2-2 libznz-dev libznz3 zlib1g-dev
      libpng-dev libpng16-16 libdeflate-dev libdeflate0 libsvm-dev libsvm3)
cd "$dest/debs"
rm -f ./*.deb
if ! apt-get download "${pkgs[@]}" >download.log 2>&1; then
  echo "pack: apt-get download failed; trying once more after apt-get update" >&2
  { apt-get update -qq && apt-get download "${pkgs[@]}"; } >>download.log 2>&1 ||
    { cat download.log >&2; echo "pack: could not download ${pkgs[*]} into $dest/debs" >&2; exit 1; }
fi
n=$(ls ./*.deb | wc -l)
[ "$n" -eq "${#pkgs[@]}" ] || { echo "pack: expected ${#pkgs[@]} .deb files in $dest/debs, got $n" >&2; exit 1; }
rm -f download.log
echo "pack: $n Debian packages in $dest/debs ($(du -sh . | cut -f1))"

if [ "${GPU_PACK_DEBS_ONLY:-0}" != 1 ]; then
  "$root/tools/gpu/data-subset.sh" "${IMUNITY_DATA:-$root/../shared/data}" "$dest/data"
fi
echo "pack: $dest holds $(du -sm "$dest" | cut -f1) MiB (the device tool carries at most 64 MiB with the working tree)"
