// 4x4 affine helpers and the axis codes of a voxel-to-world transform.
#include "io/geometry.h"

#include <cmath>

namespace im::io {

Mat4 identity4() { return {1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1}; }

Mat4 mul(const Mat4& a, const Mat4& b) {
  Mat4 r{};
  for (int i = 0; i < 4; ++i)
    for (int j = 0; j < 4; ++j) {
      double s = 0;
      for (int k = 0; k < 4; ++k) s += a[4 * i + k] * b[4 * k + j];
      r[4 * i + j] = s;
    }
  return r;
}

double det3(const Mat4& m) {
  return m[0] * (m[5] * m[10] - m[6] * m[9]) - m[1] * (m[4] * m[10] - m[6] * m[8]) +
         m[2] * (m[4] * m[9] - m[5] * m[8]);
}

Mat4 inverse_affine(const Mat4& m) {
  const double d = det3(m);
  Mat4 r{};
  // Adjugate of the 3x3 block divided by the determinant.
  r[0] = (m[5] * m[10] - m[6] * m[9]) / d;
  r[1] = (m[2] * m[9] - m[1] * m[10]) / d;
  r[2] = (m[1] * m[6] - m[2] * m[5]) / d;
  r[4] = (m[6] * m[8] - m[4] * m[10]) / d;
  r[5] = (m[0] * m[10] - m[2] * m[8]) / d;
  r[6] = (m[2] * m[4] - m[0] * m[6]) / d;
  r[8] = (m[4] * m[9] - m[5] * m[8]) / d;
  r[9] = (m[1] * m[8] - m[0] * m[9]) / d;
  r[10] = (m[0] * m[5] - m[1] * m[4]) / d;
  for (int i = 0; i < 3; ++i)
    r[4 * i + 3] = -(r[4 * i] * m[3] + r[4 * i + 1] * m[7] + r[4 * i + 2] * m[11]);
  r[15] = 1;
  return r;
}

Vec3 apply(const Mat4& m, double i, double j, double k) {
  return {m[0] * i + m[1] * j + m[2] * k + m[3], m[4] * i + m[5] * j + m[6] * k + m[7],
          m[8] * i + m[9] * j + m[10] * k + m[11]};
}

Vec3 column_norms(const Mat4& m) {
  Vec3 n{};
  for (int c = 0; c < 3; ++c) n[c] = std::sqrt(m[c] * m[c] + m[4 + c] * m[4 + c] + m[8 + c] * m[8 + c]);
  return n;
}

bool all_finite(const Mat4& m) {
  for (double v : m)
    if (!std::isfinite(v)) return false;
  return true;
}

bool is_singular(const Mat4& m) {
  if (!all_finite(m)) return true;
  const Vec3 n = column_norms(m);
  const double scale = n[0] * n[1] * n[2];
  // A relative test: |det| equals the product of the column norms for an orthogonal grid and
  // shrinks towards 0 as the voxel axes become parallel.
  return !(scale > 0) || std::fabs(det3(m)) < 1e-6 * scale;
}

double max_abs_diff(const Mat4& a, const Mat4& b) {
  double d = 0;
  for (int i = 0; i < 16; ++i) d = std::fmax(d, std::fabs(a[i] - b[i]));
  return d;
}

std::string axcodes(const Mat4& m) {
  // Greedy assignment of each voxel axis to the world axis it is most aligned with, taking the
  // strongest alignment first (as nibabel's io_orientation does for non-oblique affines).
  const char pos[3] = {'R', 'A', 'S'}, neg[3] = {'L', 'P', 'I'};
  const Vec3 n = column_norms(m);
  double c[3][3];
  for (int w = 0; w < 3; ++w)
    for (int v = 0; v < 3; ++v) c[w][v] = n[v] > 0 ? m[4 * w + v] / n[v] : 0;
  std::string out = "???";
  bool used_w[3] = {false, false, false}, used_v[3] = {false, false, false};
  for (int step = 0; step < 3; ++step) {
    int bw = -1, bv = -1;
    double best = -1;
    for (int w = 0; w < 3; ++w)
      for (int v = 0; v < 3; ++v)
        if (!used_w[w] && !used_v[v] && std::fabs(c[w][v]) > best) best = std::fabs(c[w][v]), bw = w, bv = v;
    used_w[bw] = used_v[bv] = true;
    out[bv] = c[bw][bv] >= 0 ? pos[bw] : neg[bw];
  }
  return out;
}

}  // namespace im::io
