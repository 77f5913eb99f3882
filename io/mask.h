// Brain masks: from a mask file or a label map on any grid (nearest neighbour through the two
// affines), or an automatic head/foreground mask (Otsu + morphology; NOT skull stripping).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "io/volume.h"

namespace im::io {

using Mask = std::vector<uint8_t>;  // 1 = inside, laid out like the volume it goes with

// Samples `source` on the grid of `grid` by nearest neighbour through both voxel-to-world affines
// (target voxel -> world -> source voxel, rounded); voxels falling outside `source` are 0. A voxel
// is in the mask when the sampled value is > threshold.
Mask mask_from_volume(const Volume& grid, const Volume& source, float threshold);
// A mask file (value > 0.5 is inside) or a label map (label > 0 is brain), on any grid.
Mask read_mask_file(const Volume& grid, const std::string& path);
Mask read_label_mask(const Volume& grid, const std::string& path);

struct AutoMaskOptions {
  double closing_mm = 4;  // closing radius (mm) that bridges thin dark gaps in the head
  bool fill_holes = true;  // fill enclosed holes, in 3-D and in every 2-D slice of each axis
};
// Foreground (head) mask for a whole-head image: Otsu threshold on the intensities, closing,
// largest connected component, hole filling. This is head/foreground masking, not skull stripping:
// scalp, skull and neck are inside. For images that are already brain-only it is a brain mask.
Mask auto_mask(const Volume& v, const AutoMaskOptions& options = {});

// Otsu's threshold over 256 bins between the minimum and the 99.9th percentile.
double otsu_threshold(const std::vector<float>& values);
double mask_fraction(const Mask& m);
int64_t mask_count(const Mask& m);
// Morphology on a mask laid out on `dim` (6-connectivity; radius in voxels per axis).
void dilate(Mask& m, const Dims& dim, const std::array<int, 3>& radius);
void erode(Mask& m, const Dims& dim, const std::array<int, 3>& radius);
void keep_largest_component(Mask& m, const Dims& dim);
void fill_holes(Mask& m, const Dims& dim);
// Squared Euclidean distance (mm^2) from each voxel of `m` to the nearest voxel outside it; voxels
// beyond the grid count as outside, voxels outside are 0. Exact (Felzenszwalb-Huttenlocher).
std::vector<float> squared_distance_to_outside(const Mask& m, const Dims& dim, const Vec3& voxel_mm);

// The "brain core" of a head mask: the voxels deeper than margin_mm inside the mask (scalp and skull
// fall away) and at most depth_mm below its highest point along the superior axis (neck, face and
// skull base fall away). It is a reference region for the intensity statistics of whole-head images
// (mostly white matter, some grey matter and CSF), NOT a brain mask and NOT skull stripping. The
// superior axis is the voxel axis closest to world S (from the affine of `grid`).
Mask brain_core(const Mask& head, const Volume& grid, double margin_mm, double depth_mm);

}  // namespace im::io
