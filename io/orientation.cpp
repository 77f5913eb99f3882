// Canonical (RAS) reorientation of volumes: the permutation/flip choice and the geometry update.
#include "io/orientation.h"

#include <cmath>

namespace im::io {

bool Reorientation::is_identity() const {
  return perm == std::array<int, 3>{0, 1, 2} && !flip[0] && !flip[1] && !flip[2];
}

Dims Reorientation::canonical_dim() const { return {src_dim[perm[0]], src_dim[perm[1]], src_dim[perm[2]]}; }

Mat4 Reorientation::canonical_to_source() const {
  Mat4 t{};
  t[15] = 1;
  for (int a = 0; a < 3; ++a) {
    const int s = perm[a];
    t[4 * s + a] = flip[a] ? -1 : 1;
    t[4 * s + 3] = flip[a] ? static_cast<double>(src_dim[s] - 1) : 0;
  }
  return t;
}

Reorientation canonical_reorientation(const Mat4& affine, const Dims& dim) {
  // Greedy matching on direction cosines, strongest alignment first: exact for non-oblique
  // affines and the nearest RAS grid for oblique ones.
  Reorientation r;
  r.src_dim = dim;
  const Vec3 n = column_norms(affine);
  bool used_w[3] = {false, false, false}, used_v[3] = {false, false, false};
  for (int step = 0; step < 3; ++step) {
    int bw = 0, bv = 0;
    double best = -1;
    for (int w = 0; w < 3; ++w)
      for (int v = 0; v < 3; ++v) {
        const double c = std::fabs(affine[4 * w + v]) / n[v];
        if (!used_w[w] && !used_v[v] && c > best) best = c, bw = w, bv = v;
      }
    used_w[bw] = used_v[bv] = true;
    r.perm[bw] = bv;
    r.flip[bw] = affine[4 * bw + bv] < 0;
  }
  return r;
}

Volume to_canonical(const Volume& v, Reorientation* used) {
  const Reorientation r = canonical_reorientation(v.affine, v.dim);
  if (used) *used = r;
  Volume c;
  c.header = v.header;
  c.affine = v.affine;
  c.dim = v.dim;
  c.data = r.forward(v.data);
  remap_geometry(c, r.canonical_dim(), r.canonical_to_source());
  return c;
}

Volume from_canonical(const Volume& canon, const Reorientation& r) {
  Volume v;
  v.header = canon.header;
  v.affine = canon.affine;
  v.dim = canon.dim;
  v.data = r.backward(canon.data);
  remap_geometry(v, r.src_dim, inverse_affine(r.canonical_to_source()));
  return v;
}

}  // namespace im::io
