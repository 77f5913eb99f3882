// Diagonal grid maps (resample, pad/crop), their trilinear/nearest sampling, and 1-D Gaussian blur.
#include "io/grid.h"

#include <algorithm>
#include <cmath>

namespace im::io {
namespace {

// Per destination index along one axis: the two source neighbours and the weight of the second.
struct AxisTable {
  std::vector<int64_t> i0, i1;
  std::vector<float> w;
  std::vector<uint8_t> inside;
};

AxisTable axis_table(int64_t n_src, int64_t n_dst, double scale, double shift, bool nearest) {
  AxisTable t;
  t.i0.resize(n_dst), t.i1.resize(n_dst), t.w.resize(n_dst), t.inside.resize(n_dst);
  for (int64_t d = 0; d < n_dst; ++d) {
    const double x = scale * static_cast<double>(d) + shift;
    // Within a voxel of the source's end voxels (clamped there); farther out reads as 0. For a
    // pad, whose positions are whole numbers, this is exactly "inside the source grid"; for a
    // resampling it spares the rim that rounding the voxel count leaves uncovered.
    t.inside[d] = x > -1 && x < static_cast<double>(n_src);
    if (nearest || x == std::floor(x)) {
      const int64_t i = std::clamp<int64_t>(static_cast<int64_t>(std::floor(x + 0.5)), 0, n_src - 1);
      t.i0[d] = t.i1[d] = i, t.w[d] = 0;
    } else {
      const double c = std::clamp(x, 0.0, static_cast<double>(n_src - 1));
      const int64_t i = std::min<int64_t>(static_cast<int64_t>(std::floor(c)), n_src - 1);
      t.i0[d] = i, t.i1[d] = std::min(i + 1, n_src - 1), t.w[d] = static_cast<float>(c - static_cast<double>(i));
    }
  }
  return t;
}

template <class T, class Combine>
std::vector<T> sample(const std::vector<T>& src, const GridMap& m, bool nearest, Combine combine) {
  AxisTable t[3];
  for (int a = 0; a < 3; ++a) t[a] = axis_table(m.src_dim[a], m.dst_dim[a], m.scale[a], m.shift[a], nearest);
  const Dims& s = m.src_dim;
  const Dims& d = m.dst_dim;
  std::vector<T> out(static_cast<size_t>(d[0] * d[1] * d[2]), T(0));
#pragma omp parallel for schedule(static) if (d[0] * d[1] * d[2] > (1 << 18))
  for (int64_t z = 0; z < d[2]; ++z) {
    if (!t[2].inside[z]) continue;
    for (int64_t y = 0; y < d[1]; ++y) {
      if (!t[1].inside[y]) continue;
      for (int64_t x = 0; x < d[0]; ++x) {
        if (!t[0].inside[x]) continue;
        out[x + d[0] * (y + d[1] * z)] = combine(src, s, t, x, y, z);
      }
    }
  }
  return out;
}

float trilinear(const std::vector<float>& v, const Dims& s, const AxisTable* t, int64_t x, int64_t y, int64_t z) {
  const int64_t x0 = t[0].i0[x], x1 = t[0].i1[x], y0 = t[1].i0[y], y1 = t[1].i1[y], z0 = t[2].i0[z], z1 = t[2].i1[z];
  const float wx = t[0].w[x], wy = t[1].w[y], wz = t[2].w[z];
  const auto at = [&](int64_t i, int64_t j, int64_t k) { return v[i + s[0] * (j + s[1] * k)]; };
  // Zero weights skip the neighbour, so an integer position returns the voxel bit-exactly.
  const auto lerp = [](float a, float b, float w) { return w == 0 ? a : a + w * (b - a); };
  const float c00 = lerp(at(x0, y0, z0), at(x1, y0, z0), wx), c10 = lerp(at(x0, y1, z0), at(x1, y1, z0), wx);
  const float c01 = lerp(at(x0, y0, z1), at(x1, y0, z1), wx), c11 = lerp(at(x0, y1, z1), at(x1, y1, z1), wx);
  return lerp(lerp(c00, c10, wy), lerp(c01, c11, wy), wz);
}

}  // namespace

Mat4 GridMap::dst_to_src() const {
  return {scale[0], 0, 0, shift[0], 0, scale[1], 0, shift[1], 0, 0, scale[2], shift[2], 0, 0, 0, 1};
}

GridMap GridMap::inverse() const {
  GridMap r;
  r.src_dim = dst_dim, r.dst_dim = src_dim;
  for (int a = 0; a < 3; ++a) r.scale[a] = 1 / scale[a], r.shift[a] = -shift[a] / scale[a];
  return r;
}

bool GridMap::is_identity() const {
  return src_dim == dst_dim && scale == Vec3{1, 1, 1} && shift == Vec3{0, 0, 0};
}

bool GridMap::is_integer_shift() const {
  for (int a = 0; a < 3; ++a)
    if (scale[a] != 1 || shift[a] != std::floor(shift[a])) return false;
  return true;
}

Volume regrid(const Volume& src, const GridMap& m, Interp interp) {
  Volume out;
  out.header = src.header;
  out.affine = src.affine;
  out.dim = src.dim;
  const bool nearest = interp == Interp::nearest || m.is_integer_shift();
  if (m.is_identity()) {
    out.data = src.data;
  } else if (nearest) {
    out.data = sample(src.data, m, true, [](const std::vector<float>& v, const Dims& s, const AxisTable* t, int64_t x,
                                            int64_t y, int64_t z) { return v[t[0].i0[x] + s[0] * (t[1].i0[y] + s[1] * t[2].i0[z])]; });
  } else {
    out.data = sample(src.data, m, false, trilinear);
  }
  remap_geometry(out, m.dst_dim, m.dst_to_src());
  return out;
}

std::vector<uint8_t> regrid_mask(const std::vector<uint8_t>& src, const GridMap& m) {
  if (m.is_identity()) return src;
  return sample(src, m, true, [](const std::vector<uint8_t>& v, const Dims& s, const AxisTable* t, int64_t x, int64_t y,
                                 int64_t z) { return v[t[0].i0[x] + s[0] * (t[1].i0[y] + s[1] * t[2].i0[z])]; });
}

GridMap resampling_map(const Dims& dim, const Vec3& from_mm, const Vec3& to_mm) {
  GridMap m;
  m.src_dim = m.dst_dim = dim;
  for (int a = 0; a < 3; ++a) {
    if (to_mm[a] <= 0 || from_mm[a] == to_mm[a]) continue;
    const double n = static_cast<double>(dim[a]);
    m.dst_dim[a] = std::max<int64_t>(1, std::llround(n * from_mm[a] / to_mm[a]));
    m.scale[a] = to_mm[a] / from_mm[a];
    // Centres of the two fields of view coincide.
    m.shift[a] = (n - 1) / 2 - m.scale[a] * static_cast<double>(m.dst_dim[a] - 1) / 2;
  }
  return m;
}

int64_t round_up(int64_t n, int64_t multiple) { return multiple > 1 ? (n + multiple - 1) / multiple * multiple : n; }

GridMap plane_pad_map(const Dims& dim, int64_t target_x, int64_t target_y, int64_t shift_x, int64_t shift_y) {
  GridMap m;
  m.src_dim = dim;
  m.dst_dim = {target_x, target_y, dim[2]};
  const int64_t target[2] = {target_x, target_y}, move[2] = {shift_x, shift_y};
  for (int a = 0; a < 2; ++a) {
    // dst = src + offset; a negative offset crops. Integer division keeps it centred (floor for a
    // pad, the extra voxel of an odd difference goes to the high side).
    const int64_t offset = (target[a] - dim[a]) / 2 - move[a];
    m.shift[a] = static_cast<double>(-offset);
  }
  return m;
}

void gaussian_blur_axis(Volume& v, int axis, double sigma) {
  if (!(sigma > 0)) return;
  const int64_t radius = std::max<int64_t>(1, static_cast<int64_t>(std::ceil(3 * sigma)));
  std::vector<double> k(static_cast<size_t>(2 * radius + 1));
  double sum = 0;
  for (int64_t i = -radius; i <= radius; ++i) sum += k[i + radius] = std::exp(-0.5 * double(i * i) / (sigma * sigma));
  for (double& x : k) x /= sum;
  const Dims& d = v.dim;
  const int64_t n = d[axis], stride = axis == 0 ? 1 : axis == 1 ? d[0] : d[0] * d[1];
  const int64_t lines = v.size() / n;
#pragma omp parallel
  {
    std::vector<float> line(static_cast<size_t>(n));
#pragma omp for schedule(static)
    for (int64_t l = 0; l < lines; ++l) {
      const int64_t start = line_start(d, axis, l);
      for (int64_t i = 0; i < n; ++i) line[i] = v.data[start + i * stride];
      for (int64_t i = 0; i < n; ++i) {
        double acc = 0;
        for (int64_t j = -radius; j <= radius; ++j) acc += k[j + radius] * line[std::clamp<int64_t>(i + j, 0, n - 1)];
        v.data[start + i * stride] = static_cast<float>(acc);
      }
    }
  }
}

void antialias_for(Volume& v, const GridMap& m) {
  for (int a = 0; a < 3; ++a)
    if (m.scale[a] > 1) gaussian_blur_axis(v, a, std::sqrt(m.scale[a] * m.scale[a] - 1) / 2.3548200450309493);
}

}  // namespace im::io
