// Reorientation to canonical RAS (axes pointing Right, Anterior, Superior) and back, exactly.
#pragma once
#include <array>
#include <vector>

#include "io/volume.h"

namespace im::io {

// An axis permutation with flips that takes a volume's voxel array to the canonical orientation:
// canonical axis a runs along source axis perm[a], backwards when flip[a]. Derived from the affine
// (each voxel axis goes to the world axis it is most aligned with), so for oblique acquisitions
// the canonical grid is the nearest RAS one; the affine keeps the exact geometry.
struct Reorientation {
  std::array<int, 3> perm{0, 1, 2};
  std::array<bool, 3> flip{false, false, false};
  Dims src_dim{0, 0, 0};

  bool is_identity() const;
  Dims canonical_dim() const;
  Mat4 canonical_to_source() const;  // canonical voxel index -> source voxel index (homogeneous)
  // Canonical-layout copy of an array laid out on the source grid (any voxel type), and back.
  template <class T> std::vector<T> forward(const std::vector<T>& src) const;
  template <class T> std::vector<T> backward(const std::vector<T>& canon) const;
};

Reorientation canonical_reorientation(const Mat4& affine, const Dims& dim);

// The volume in canonical orientation; its affine (and qform/sform) are adjusted so that every
// voxel keeps its world coordinates. Axial slices are then z-slices of the result.
Volume to_canonical(const Volume& v, Reorientation* used = nullptr);
// Exact inverse of to_canonical for the same Reorientation.
Volume from_canonical(const Volume& canon, const Reorientation& r);

// ---- implementation of the templates ----
namespace detail {
// Visits canonical voxels in order with the matching source offset.
template <class F>
void for_each_canonical(const Reorientation& r, F&& f) {
  const Dims cd = r.canonical_dim();
  const int64_t stride[3] = {1, r.src_dim[0], r.src_dim[0] * r.src_dim[1]};
  int64_t step[3], base = 0;
  for (int a = 0; a < 3; ++a) {
    const int s = r.perm[a];
    step[a] = r.flip[a] ? -stride[s] : stride[s];
    if (r.flip[a]) base += (r.src_dim[s] - 1) * stride[s];
  }
#pragma omp parallel for schedule(static) if (cd[0] * cd[1] * cd[2] > (1 << 20))
  for (int64_t k = 0; k < cd[2]; ++k)
    for (int64_t j = 0; j < cd[1]; ++j) {
      int64_t c = cd[0] * (j + cd[1] * k), s = base + j * step[1] + k * step[2];
      for (int64_t i = 0; i < cd[0]; ++i, ++c, s += step[0]) f(c, s);
    }
}
}  // namespace detail

template <class T>
std::vector<T> Reorientation::forward(const std::vector<T>& src) const {
  std::vector<T> out(src.size());
  detail::for_each_canonical(*this, [&](int64_t c, int64_t s) { out[c] = src[s]; });
  return out;
}

template <class T>
std::vector<T> Reorientation::backward(const std::vector<T>& canon) const {
  std::vector<T> out(canon.size());
  detail::for_each_canonical(*this, [&](int64_t c, int64_t s) { out[s] = canon[c]; });
  return out;
}

}  // namespace im::io
