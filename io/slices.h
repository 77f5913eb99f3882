// Volume <-> stacks of 2-D slices in the three orientations of a canonical (RAS) volume, brain
// slice selection, and the voxel-wise median that fuses three orientations (2.5D).
#pragma once
#include <cstdint>
#include <vector>

#include "io/mask.h"
#include "io/volume.h"

namespace im::io {

// Slicing axis of a canonical RAS volume v(x, y, z). Layout of the stack, [n][h][w] row-major:
//   axial    (along z): slice z, rows y (posterior -> anterior), columns x (left -> right)
//   coronal  (along y): slice y, rows z (inferior -> superior), columns x
//   sagittal (along x): slice x, rows z, columns y
// Each slice is zero-padded, centred, so that h and w are multiples of `multiple`.
enum class SliceAxis { sagittal = 0, coronal = 1, axial = 2 };
const char* slice_axis_name(SliceAxis a);

struct SliceStack {
  SliceAxis axis = SliceAxis::axial;
  int64_t n = 0, h = 0, w = 0;
  std::vector<float> data;            // n * h * w
  Dims vol_dim{0, 0, 0};              // the volume the slices came from
  int64_t row_offset = 0, col_offset = 0;  // where the volume's in-plane voxels start in a slice
  float* slice(int64_t i) { return data.data() + i * h * w; }
  const float* slice(int64_t i) const { return data.data() + i * h * w; }
};

SliceStack extract_slices(const Volume& v, SliceAxis axis, int64_t multiple = 16);
// The inverse: writes the slices' voxels back into `v`, which must have the stack's vol_dim.
void insert_slices(const SliceStack& s, Volume& v);
// Indices (along the slicing axis) of the slices in which at least min_fraction of the volume's
// in-plane voxels are in the mask.
std::vector<int64_t> brain_slices(const Mask& m, const Dims& dim, SliceAxis axis, double min_fraction = 0.01);
// Voxel-wise median of three volumes on the same grid (the 2.5D fusion); geometry from `a`.
Volume median_fusion(const Volume& a, const Volume& b, const Volume& c);

}  // namespace im::io
