// 4x4 voxel-to-world affine math (row-major doubles) and orientation codes.
#pragma once
#include <array>
#include <cstdint>
#include <string>

namespace im::io {

using Mat4 = std::array<double, 16>;  // row-major: m[4 * row + col]; last row is 0 0 0 1
using Dims = std::array<int64_t, 3>;
using Vec3 = std::array<double, 3>;

Mat4 identity4();
Mat4 mul(const Mat4& a, const Mat4& b);
// Inverse of an affine (last row 0 0 0 1); the caller makes sure it is not singular.
Mat4 inverse_affine(const Mat4& m);
double det3(const Mat4& m);
Vec3 apply(const Mat4& m, double i, double j, double k);
// Length of each voxel axis in world units (the columns of the 3x3 part).
Vec3 column_norms(const Mat4& m);
bool all_finite(const Mat4& m);
// Singular, or so close to it that the voxel grid collapses (|det| tiny next to the column norms).
bool is_singular(const Mat4& m);
double max_abs_diff(const Mat4& a, const Mat4& b);
// nibabel-style axis codes of the voxel axes, e.g. "PSR": the world direction each axis points to.
std::string axcodes(const Mat4& m);

}  // namespace im::io
