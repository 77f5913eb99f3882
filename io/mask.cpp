// Brain and head masks: label/mask resampling through affines, Otsu thresholding, morphology.
#include "io/mask.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "io/error.h"
#include "io/nifti.h"
#include "io/normalize.h"
#include "io/orientation.h"

namespace im::io {
namespace {

// Max (dilate) or min (erode) filter along one axis, edges replicated. The volume is seen as
// [outer][n][inner] (inner = the stride of the axis): a sliding count of ones over whole rows of
// `inner` voxels keeps the memory access contiguous for every axis and the cost O(n) per line.
void extremum_axis(Mask& m, const Dims& d, int axis, int r, bool take_max) {
  if (r <= 0) return;
  const int64_t n = d[axis], inner = axis == 0 ? 1 : axis == 1 ? d[0] : d[0] * d[1];
  const int64_t outer = d[0] * d[1] * d[2] / (n * inner);
  const int64_t chunk = std::min<int64_t>(inner, 4096), chunks = (inner + chunk - 1) / chunk;
  Mask out(m.size());
#pragma omp parallel
  {
    std::vector<int32_t> count(static_cast<size_t>(chunk));
#pragma omp for schedule(static) collapse(2)
    for (int64_t o = 0; o < outer; ++o)
      for (int64_t c = 0; c < chunks; ++c) {
        const int64_t j0 = c * chunk, len = std::min(chunk, inner - j0);
        const uint8_t* src = m.data() + o * n * inner + j0;
        uint8_t* dst = out.data() + o * n * inner + j0;
        std::fill(count.begin(), count.end(), 0);
        for (int64_t i = 0; i <= std::min(r, static_cast<int>(n - 1)); ++i)
          for (int64_t j = 0; j < len; ++j) count[j] += src[i * inner + j] != 0;
        for (int64_t i = 0; i < n; ++i) {
          const int32_t window = static_cast<int32_t>(std::min<int64_t>(n, i + r + 1) - std::max<int64_t>(0, i - r));
          for (int64_t j = 0; j < len; ++j) dst[i * inner + j] = take_max ? count[j] > 0 : count[j] == window;
          if (i + r + 1 < n)
            for (int64_t j = 0; j < len; ++j) count[j] += src[(i + r + 1) * inner + j] != 0;
          if (i - r >= 0)
            for (int64_t j = 0; j < len; ++j) count[j] -= src[(i - r) * inner + j] != 0;
        }
      }
  }
  m.swap(out);
}

// Fills the holes of a mask: the 0-voxels not connected to the border are set to 1. Connectivity
// and "border" use only the axes in `moves`: all three for 3-D holes, two for holes closed within
// every slice across the third axis (one pass over the volume either way).
void fill_enclosed(Mask& m, const Dims& d, const std::array<bool, 3>& moves) {
  const int64_t step[3] = {1, d[0], d[0] * d[1]};
  std::vector<int64_t> stack;
  for (int64_t z = 0, i = 0; z < d[2]; ++z)
    for (int64_t y = 0; y < d[1]; ++y)
      for (int64_t x = 0; x < d[0]; ++x, ++i) {
        const int64_t c[3] = {x, y, z};
        bool border = false;
        for (int a = 0; a < 3; ++a) border = border || (moves[a] && (c[a] == 0 || c[a] == d[a] - 1));
        if (border && m[i] == 0) m[i] = 2, stack.push_back(i);
      }
  while (!stack.empty()) {
    const int64_t i = stack.back();
    stack.pop_back();
    const int64_t c[3] = {i % d[0], i / d[0] % d[1], i / (d[0] * d[1])};
    for (int a = 0; a < 3; ++a) {
      if (!moves[a]) continue;
      if (c[a] > 0 && m[i - step[a]] == 0) m[i - step[a]] = 2, stack.push_back(i - step[a]);
      if (c[a] < d[a] - 1 && m[i + step[a]] == 0) m[i + step[a]] = 2, stack.push_back(i + step[a]);
    }
  }
  for (uint8_t& v : m) v = v == 2 ? 0 : 1;
}

// One line of the squared distance transform (Felzenszwalb & Huttenlocher 2012): out[p] = min over q
// of f[q] + ((p - q) w)^2, over the finite f[q] and two zero sites just beyond the ends (beyond the
// grid is outside). The scratch vectors hold the lower envelope: its parabolas (position, height
// f + x^2) and where each one starts.
void distance_line(const std::vector<double>& f, std::vector<double>& out, double w, std::vector<double>& pos,
                   std::vector<double>& height, std::vector<double>& start) {
  const int64_t n = static_cast<int64_t>(f.size());
  pos.assign(1, -w), height.assign(1, w * w), start.assign(1, -std::numeric_limits<double>::infinity());
  for (int64_t q = 0; q <= n; ++q) {
    const double fq = q < n ? f[q] : 0.0;
    if (!std::isfinite(fq)) continue;
    const double x = static_cast<double>(q) * w, h = fq + x * x;
    double s = (h - height.back()) / (2 * (x - pos.back()));
    while (s <= start.back()) {  // the last parabola is hidden by its neighbours: drop it
      pos.pop_back(), height.pop_back(), start.pop_back();
      s = (h - height.back()) / (2 * (x - pos.back()));
    }
    pos.push_back(x), height.push_back(h), start.push_back(s);
  }
  size_t k = 0;
  for (int64_t p = 0; p < n; ++p) {
    const double x = static_cast<double>(p) * w;
    while (k + 1 < pos.size() && start[k + 1] < x) ++k;
    out[p] = height[k] - pos[k] * pos[k] + (x - pos[k]) * (x - pos[k]);
  }
}

}  // namespace

std::vector<float> squared_distance_to_outside(const Mask& m, const Dims& d, const Vec3& voxel_mm) {
  std::vector<float> dist(m.size());
  for (size_t i = 0; i < m.size(); ++i) dist[i] = m[i] ? std::numeric_limits<float>::infinity() : 0.0f;
  const int64_t stride[3] = {1, d[0], d[0] * d[1]};
  // One separable pass per axis; after the first, every value is finite (the border sites).
  for (int a = 0; a < 3; ++a) {
    const int64_t n = d[a], lines = d[0] * d[1] * d[2] / n;
    const int b = a == 0 ? 1 : 0, c = a == 2 ? 1 : 2;  // the two other axes
#pragma omp parallel
    {
      std::vector<double> f, out, pos, height, start;
#pragma omp for schedule(static)
      for (int64_t l = 0; l < lines; ++l) {
        const int64_t first = (l % d[b]) * stride[b] + (l / d[b]) * stride[c];
        // Only the stretch between the first and last voxel inside needs work: the zeros just
        // beyond it (or the grid's border) are the nearest outside sites of everything in it.
        int64_t lo = n, hi = -1;
        for (int64_t i = 0; i < n; ++i)
          if (dist[first + i * stride[a]] > 0) lo = std::min(lo, i), hi = i;
        if (hi < 0) continue;  // all outside: stays 0
        f.resize(static_cast<size_t>(hi - lo + 1)), out.resize(f.size());
        for (int64_t i = lo; i <= hi; ++i) f[i - lo] = dist[first + i * stride[a]];
        distance_line(f, out, voxel_mm[a], pos, height, start);
        for (int64_t i = lo; i <= hi; ++i) dist[first + i * stride[a]] = static_cast<float>(out[i - lo]);
      }
    }
  }
  return dist;
}

Mask brain_core(const Mask& head, const Volume& grid, double margin_mm, double depth_mm) {
  const Dims& d = grid.dim;
  Mask core(head.size(), 0);
  // The superior axis: the voxel axis the canonical S axis runs along, and which way.
  const Reorientation r = canonical_reorientation(grid.affine, d);
  const int s = r.perm[2];
  const int64_t stride[3] = {1, d[0], d[0] * d[1]};
  const auto up = [&](int64_t i) {  // index along the superior direction
    const int64_t k = i / stride[s] % d[s];
    return r.flip[2] ? d[s] - 1 - k : k;
  };
  int64_t top = -1;
  for (int64_t i = 0; i < static_cast<int64_t>(head.size()); ++i)
    if (head[i]) top = std::max(top, up(i));
  if (top < 0) return core;
  const double step = grid.voxel_size()[s];
  const std::vector<float> dist2 = squared_distance_to_outside(head, d, grid.voxel_size());
  const float margin2 = static_cast<float>(margin_mm * margin_mm);
  for (int64_t i = 0; i < static_cast<int64_t>(head.size()); ++i)
    core[i] = dist2[i] > margin2 && static_cast<double>(top - up(i)) * step <= depth_mm;
  return core;
}

Mask mask_from_volume(const Volume& grid, const Volume& source, float threshold) {
  Mask m(static_cast<size_t>(grid.size()), 0);
  if (grid.dim == source.dim && max_abs_diff(grid.affine, source.affine) < 1e-6) {
    for (int64_t i = 0; i < grid.size(); ++i) m[i] = source.data[i] > threshold;
    return m;
  }
  const Mat4 t = mul(inverse_affine(source.affine), grid.affine);  // grid voxel -> source voxel
  const Dims& g = grid.dim;
  const Dims& s = source.dim;
#pragma omp parallel for schedule(static)
  for (int64_t z = 0; z < g[2]; ++z)
    for (int64_t y = 0; y < g[1]; ++y)
      for (int64_t x = 0; x < g[0]; ++x) {
        const Vec3 p = apply(t, double(x), double(y), double(z));
        const int64_t i = static_cast<int64_t>(std::floor(p[0] + 0.5)), j = static_cast<int64_t>(std::floor(p[1] + 0.5)),
                      k = static_cast<int64_t>(std::floor(p[2] + 0.5));
        if (i < 0 || j < 0 || k < 0 || i >= s[0] || j >= s[1] || k >= s[2]) continue;
        m[x + g[0] * (y + g[1] * z)] = source.data[i + s[0] * (j + s[1] * k)] > threshold;
      }
  return m;
}

Mask read_mask_file(const Volume& grid, const std::string& path) {
  ReadOptions o;
  o.nonfinite = NonFinite::zero;
  return mask_from_volume(grid, read_volume(path, o), 0.5f);
}

Mask read_label_mask(const Volume& grid, const std::string& path) {
  ReadOptions o;
  o.nonfinite = NonFinite::zero;
  return mask_from_volume(grid, read_volume(path, o), 0.0f);
}

double otsu_threshold(const std::vector<float>& values) {
  if (values.empty()) return 0;
  const double lo = *std::min_element(values.begin(), values.end());
  // The percentile from at most ~1M evenly strided values: plenty for a histogram range.
  const size_t stride = std::max<size_t>(1, values.size() / (1 << 20));
  std::vector<float> sample;
  for (size_t i = 0; i < values.size(); i += stride) sample.push_back(values[i]);
  const double hi = percentile(std::move(sample), 99.9);
  if (!(hi > lo)) return lo;
  constexpr int kBins = 256;
  std::vector<double> h(kBins, 0);
  for (float v : values) h[std::clamp(static_cast<int>((v - lo) / (hi - lo) * kBins), 0, kBins - 1)] += 1;
  double total = 0, sum_all = 0;
  for (int i = 0; i < kBins; ++i) total += h[i], sum_all += i * h[i];
  double w0 = 0, sum0 = 0, best = -1;
  int best_i = 0;
  for (int i = 0; i < kBins - 1; ++i) {
    w0 += h[i], sum0 += i * h[i];
    const double w1 = total - w0;
    if (w0 == 0 || w1 == 0) continue;
    const double m0 = sum0 / w0, m1 = (sum_all - sum0) / w1;
    const double between = w0 * w1 * (m0 - m1) * (m0 - m1);
    if (between > best) best = between, best_i = i;
  }
  return lo + (best_i + 1) * (hi - lo) / kBins;  // upper edge of the last background bin
}

void dilate(Mask& m, const Dims& d, const std::array<int, 3>& r) {
  for (int a = 0; a < 3; ++a) extremum_axis(m, d, a, r[a], true);
}

void erode(Mask& m, const Dims& d, const std::array<int, 3>& r) {
  for (int a = 0; a < 3; ++a) extremum_axis(m, d, a, r[a], false);
}

void keep_largest_component(Mask& m, const Dims& d) {
  std::vector<int32_t> label(m.size(), 0);
  std::vector<int64_t> sizes{0}, stack;
  const int64_t n = static_cast<int64_t>(m.size()), step[3] = {1, d[0], d[0] * d[1]};
  for (int64_t s = 0; s < n; ++s) {
    if (!m[s] || label[s]) continue;
    const int32_t id = static_cast<int32_t>(sizes.size());
    int64_t count = 0;
    label[s] = id;
    stack.push_back(s);
    while (!stack.empty()) {
      const int64_t i = stack.back();
      stack.pop_back();
      ++count;
      const int64_t c[3] = {i % d[0], i / d[0] % d[1], i / (d[0] * d[1])};
      for (int a = 0; a < 3; ++a) {
        if (c[a] > 0 && m[i - step[a]] && !label[i - step[a]]) label[i - step[a]] = id, stack.push_back(i - step[a]);
        if (c[a] < d[a] - 1 && m[i + step[a]] && !label[i + step[a]]) label[i + step[a]] = id, stack.push_back(i + step[a]);
      }
    }
    sizes.push_back(count);
  }
  if (sizes.size() <= 2) return;
  const int32_t keep = static_cast<int32_t>(std::max_element(sizes.begin(), sizes.end()) - sizes.begin());
  for (int64_t i = 0; i < n; ++i) m[i] = label[i] == keep;
}

void fill_holes(Mask& m, const Dims& d) {
  fill_enclosed(m, d, {true, true, true});
  // Openings to the outside (ear canals, nostrils) defeat a 3-D fill; a cavity closed in every
  // slice across some axis is still filled there.
  for (int a = 0; a < 3; ++a) {
    std::array<bool, 3> moves{true, true, true};
    moves[a] = false;
    fill_enclosed(m, d, moves);
  }
}

Mask auto_mask(const Volume& v, const AutoMaskOptions& o) {
  const double t = otsu_threshold(v.data);
  Mask m(v.data.size());
  for (size_t i = 0; i < m.size(); ++i) m[i] = v.data[i] > t;
  const Vec3 vs = v.voxel_size();
  std::array<int, 3> r{};
  for (int a = 0; a < 3; ++a) r[a] = static_cast<int>(std::lround(o.closing_mm / vs[a]));
  dilate(m, v.dim, r);
  erode(m, v.dim, r);
  keep_largest_component(m, v.dim);
  if (o.fill_holes) fill_holes(m, v.dim);
  return m;
}

double mask_fraction(const Mask& m) {
  return m.empty() ? 0 : static_cast<double>(mask_count(m)) / static_cast<double>(m.size());
}

int64_t mask_count(const Mask& m) {
  int64_t c = 0;
  for (uint8_t v : m) c += v != 0;
  return c;
}

}  // namespace im::io
