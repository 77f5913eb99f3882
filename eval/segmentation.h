// Agreement of a binary segmentation with a reference: Dice, volume difference, and the symmetric
// 95th-percentile surface distance (HD95), in millimetres on the masks' grid.
#pragma once
#include <vector>

#include "io/mask.h"

namespace im::eval {

double dice(const io::Mask& a, const io::Mask& b);  // 1 when both are empty

// Boundary voxels of `m`: inside, with at least one of the six face neighbours outside (or beyond
// the grid).
io::Mask mask_surface(const io::Mask& m, const io::Dims& dim);

// Distances (mm) from every surface voxel of `from` to the nearest surface voxel of `to`. The
// distance transform runs on the grid padded by `margin` voxels on each side, so distances are
// exact up to that margin beyond the grid (and capped there).
std::vector<double> surface_distances(const io::Mask& from, const io::Mask& to, const io::Dims& dim,
                                      const io::Vec3& voxel_mm, int margin = 16);

struct SegmentationScores {
  double dice = 0;
  double volume_ml = 0, truth_ml = 0;
  double volume_diff_pct = 0;   // 100 * (volume - truth) / truth
  double hd95_mm = 0;           // the larger of the two directed 95th percentiles (MedPy's hd95)
  double mean_surface_mm = 0;   // mean over both directions (average symmetric surface distance)
};
// Throws io::Error when the masks differ in size from the grid or either is empty.
SegmentationScores compare_masks(const io::Mask& pred, const io::Mask& truth, const io::Dims& dim, const io::Vec3& voxel_mm);

}  // namespace im::eval
