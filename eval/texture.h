// Through-slice texture correlation: how much of an image's fine in-plane detail repeats from one
// axial slice to the next. Real anatomy changes between slices (IXI 2 mm: about 0.4 at one slice,
// near 0 at ten); a decoder that paints one texture at the same (x, y) on every slice shows high
// correlations even ten slices apart (the streaks of a blurred model in coronal and sagittal views).
#pragma once
#include "io/mask.h"
#include "io/volume.h"

namespace im::eval {

// v canonical (z = inferior-superior). Detail = v minus its in-plane Gaussian blur (sigma in
// voxels); per pair of slices (z, z + lag) the Pearson correlation of the detail over the voxels in
// `brain` in both; the mean over pairs with at least 100 such voxels (NaN when there are none).
double through_slice_detail_correlation(const io::Volume& v, const io::Mask& brain, int lag, double sigma_vox = 1.0);

}  // namespace im::eval
