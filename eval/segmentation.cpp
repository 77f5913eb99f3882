// Segmentation agreement: Dice, volumes, surface distances through an exact distance transform.
#include "eval/segmentation.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "io/error.h"

namespace im::eval {

double dice(const io::Mask& a, const io::Mask& b) {
  int64_t na = 0, nb = 0, both = 0;
  for (size_t i = 0; i < a.size(); ++i) na += a[i] != 0, nb += b[i] != 0, both += a[i] && b[i];
  return na + nb == 0 ? 1.0 : 2.0 * static_cast<double>(both) / static_cast<double>(na + nb);
}

io::Mask mask_surface(const io::Mask& m, const io::Dims& d) {
  io::Mask s(m.size(), 0);
  for (int64_t z = 0; z < d[2]; ++z)
    for (int64_t y = 0; y < d[1]; ++y)
      for (int64_t x = 0; x < d[0]; ++x) {
        const int64_t i = x + d[0] * (y + d[1] * z);
        if (!m[i]) continue;
        const bool edge = x == 0 || y == 0 || z == 0 || x == d[0] - 1 || y == d[1] - 1 || z == d[2] - 1;
        s[i] = edge || !m[i - 1] || !m[i + 1] || !m[i - d[0]] || !m[i + d[0]] || !m[i - d[0] * d[1]] || !m[i + d[0] * d[1]];
      }
  return s;
}

std::vector<double> surface_distances(const io::Mask& from, const io::Mask& to, const io::Dims& d, const io::Vec3& vox,
                                      int margin) {
  // Everything but the surface of `to` is "inside", on a grid padded by `margin` voxels; the
  // squared distance to the nearest "outside" voxel is then the distance to that surface.
  const io::Dims p{d[0] + 2 * margin, d[1] + 2 * margin, d[2] + 2 * margin};
  const io::Mask st = mask_surface(to, d), sf = mask_surface(from, d);
  io::Mask inside(static_cast<size_t>(p[0] * p[1] * p[2]), 1);
  auto padded = [&](int64_t x, int64_t y, int64_t z) { return (x + margin) + p[0] * ((y + margin) + p[1] * (z + margin)); };
  for (int64_t z = 0; z < d[2]; ++z)
    for (int64_t y = 0; y < d[1]; ++y)
      for (int64_t x = 0; x < d[0]; ++x)
        if (st[x + d[0] * (y + d[1] * z)]) inside[padded(x, y, z)] = 0;
  const std::vector<float> d2 = io::squared_distance_to_outside(inside, p, vox);
  std::vector<double> out;
  for (int64_t z = 0; z < d[2]; ++z)
    for (int64_t y = 0; y < d[1]; ++y)
      for (int64_t x = 0; x < d[0]; ++x)
        if (sf[x + d[0] * (y + d[1] * z)]) out.push_back(std::sqrt(static_cast<double>(d2[padded(x, y, z)])));
  return out;
}

namespace {
// Nearest rank.
double percentile95(std::vector<double>& v) {
  const size_t k = std::min(v.size() - 1, static_cast<size_t>(std::ceil(0.95 * static_cast<double>(v.size()))) - 1);
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(k), v.end());
  return v[k];
}
}  // namespace

SegmentationScores compare_masks(const io::Mask& pred, const io::Mask& truth, const io::Dims& d, const io::Vec3& vox) {
  const size_t n = static_cast<size_t>(d[0] * d[1] * d[2]);
  if (pred.size() != n || truth.size() != n) throw io::Error("compare_masks: the masks do not match the grid");
  const double voxel_ml = vox[0] * vox[1] * vox[2] / 1000;
  SegmentationScores s;
  s.volume_ml = static_cast<double>(io::mask_count(pred)) * voxel_ml;
  s.truth_ml = static_cast<double>(io::mask_count(truth)) * voxel_ml;
  if (s.volume_ml == 0 || s.truth_ml == 0) throw io::Error("compare_masks: an empty mask has no surface");
  s.dice = dice(pred, truth);
  s.volume_diff_pct = 100 * (s.volume_ml - s.truth_ml) / s.truth_ml;
  std::vector<double> ab = surface_distances(pred, truth, d, vox), ba = surface_distances(truth, pred, d, vox);
  const double sum = std::accumulate(ab.begin(), ab.end(), 0.0) + std::accumulate(ba.begin(), ba.end(), 0.0);
  s.mean_surface_mm = sum / static_cast<double>(ab.size() + ba.size());
  s.hd95_mm = std::max(percentile95(ab), percentile95(ba));
  return s;
}

}  // namespace im::eval
