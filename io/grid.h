// Grid changes along the voxel axes: resampling to a voxel size, centred pad/crop of the axial
// plane, and their exact inverses; separable Gaussian blur along one axis.
#pragma once
#include <cstdint>
#include <vector>

#include "io/volume.h"

namespace im::io {

// A diagonal index map from a destination grid to a source grid:
// src_index[a] = scale[a] * dst_index[a] + shift[a]. Resampling and pad/crop are both of this kind,
// so one sampler serves both and inverse() undoes either.
struct GridMap {
  Dims src_dim{0, 0, 0}, dst_dim{0, 0, 0};
  Vec3 scale{1, 1, 1}, shift{0, 0, 0};

  Mat4 dst_to_src() const;
  GridMap inverse() const;
  bool is_identity() const;
  bool is_integer_shift() const;  // pure pad/crop: voxels are copied, never interpolated
};

enum class Interp { nearest, linear };

// Voxels of `src` sampled on the destination grid (0 outside the source grid, which is what a pad
// adds); the geometry follows so world coordinates stay put. Linear is trilinear, nearest is for
// masks and labels; an integer shift copies exactly whatever `interp` says.
Volume regrid(const Volume& src, const GridMap& m, Interp interp);
std::vector<uint8_t> regrid_mask(const std::vector<uint8_t>& src, const GridMap& m);

// The grid with voxel size `to_mm` covering the same field of view as `dim` voxels of `from_mm`
// (centres aligned; n' = round(n * from / to)). Equal sizes give the identity.
GridMap resampling_map(const Dims& dim, const Vec3& from_mm, const Vec3& to_mm);
// Centred pad (with 0) or crop of the x,y plane to target_x x target_y; z untouched. `shift_x/y`
// move a crop window off-centre (positive: towards higher indices).
GridMap plane_pad_map(const Dims& dim, int64_t target_x, int64_t target_y, int64_t shift_x = 0, int64_t shift_y = 0);
int64_t round_up(int64_t n, int64_t multiple);

// Index of the first voxel of line `line` along voxel axis `axis` (lines numbered in memory order
// of the other two axes); the line's voxels follow with the axis' stride.
inline int64_t line_start(const Dims& d, int axis, int64_t line) {
  return axis == 0 ? line * d[0] : axis == 1 ? line % d[0] + line / d[0] * d[0] * d[1] : line;
}

// In-place Gaussian blur along voxel axis `axis` (0, 1, 2) with sigma in voxels; edges replicate.
void gaussian_blur_axis(Volume& v, int axis, double sigma_vox);
// Blur before downsampling so that a target voxel integrates its footprint (sigma from the scale).
void antialias_for(Volume& v, const GridMap& m);

}  // namespace im::io
