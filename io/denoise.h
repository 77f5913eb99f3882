// Noise level and its harmonization: a robust estimate of the noise standard deviation inside a
// mask (Immerkaer 1996, with a median), and non-local means on slices, so that a scan noisier than
// the target site can be brought to the target's noise level without blurring edges.
#pragma once
#include <cstdint>
#include <vector>

#include "io/mask.h"
#include "io/volume.h"

namespace im::io {

// Noise sigma of an image: per slice along the array's third axis, the 3 x 3 Laplacian-difference
// filter [[1,-2,1],[-2,4,-2],[1,-2,1]] (which cancels constant and linear intensity) at voxels whose
// 3 x 3 neighbourhood lies in the mask; sigma = 1.4826 * median |response| / 6. The median keeps
// edges from counting: anatomy adds a little (about 0.02 on the [0, 1] scale for IXI at 2 mm),
// scanner noise the rest. 0 when fewer than 100 voxels qualify.
double estimate_noise(const Volume& v, const Mask& mask);
// The same over 2-D slices: `slices` [n][h][w] with their masks.
double estimate_noise_slices(const std::vector<float>& slices, const std::vector<uint8_t>& masks, int64_t n, int64_t h, int64_t w);

struct NlmOptions {
  int patch_radius = 1;   // 3 x 3 patches
  int search_radius = 3;  // 7 x 7 search window
};
// Non-local means on each slice along the array's third axis, in the mask only (voxels outside are
// neither changed nor used): each voxel becomes the mean of the voxels of its search window,
// weighted by exp(-d2 / h^2), d2 the mean squared difference of their patches.
void nlm_denoise(Volume& v, const Mask& mask, double h, const NlmOptions& options = {});

}  // namespace im::io
