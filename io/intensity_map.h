// Monotone piecewise-linear intensity maps fitted between two voxel-aligned images of the same
// anatomy: the detail-preserving output stage fits one between the decoder's rendering of a volume
// under its own contrast code and under the target's, then applies it to the input's own voxels.
#pragma once
#include <cstdint>
#include <vector>

#include <nlohmann/json.hpp>

namespace im::io {

struct IntensityMap {
  // Knots: x strictly increasing, y non-decreasing. Between knots the map is linear; below the
  // first it runs to (0, 0) (zero stays zero: background and removed regions stay empty), above the
  // last it continues with the slope of its top part (`top_slope`).
  std::vector<double> x, y;
  double top_slope = 1;
  double operator()(double v) const;
  bool identity() const;  // no knots: the map leaves values as they are
  nlohmann::json to_json() const;
};

struct IntensityMapOptions {
  int bins = 64;                  // equal-count bins of the source values
  // Fit on this fraction of the mask's voxels, those with the smallest gradient magnitude in the
  // source image (tissue interiors; 1 = all): at edges two renderings can differ in sharpness as
  // well as in contrast, and only the contrast is the map's to carry.
  double flat_fraction = 0.5;
  double top_fraction = 0.1;      // of the knots, used for the slope above the last knot
  double max_top_slope = 2.0;     // that slope is clipped to [0, max_top_slope]
};

// The voxels of `mask` whose central-difference gradient magnitude in v is among the lowest
// `fraction` of the mask's (all of them when fraction >= 1).
std::vector<uint8_t> flat_voxels(const std::vector<float>& v, const int64_t dim[3], const std::vector<uint8_t>& mask, double fraction);

// Fits y ~ map(x) over the voxels where mask is nonzero and x > 0: the mean of `to` in equal-count
// bins of `from`, made non-decreasing by weighted isotonic regression (pool adjacent violators).
// Throws io::Error when fewer than 2 * bins voxels qualify.
IntensityMap fit_monotone_map(const std::vector<float>& from, const std::vector<float>& to, const std::vector<uint8_t>& mask,
                              const IntensityMapOptions& options = {});

// Quantile levels k / 200 (0.5% steps) of the brain intensities that a checkpoint stores per site
// ("site_quantiles") and that imunity-harmonize measures on a target image and on each input.
constexpr int kBrainQuantileLevels = 201;

// The quantile at level q in [0, 1] of sorted, non-empty values, interpolated linearly between order
// statistics (numpy.quantile's default).
double quantile_sorted(const std::vector<double>& sorted, double q);
// Quantiles of `values` at the levels k / (n - 1), k = 0..n-1 (quantile_sorted). Empty when
// `values` is; n >= 2.
std::vector<double> quantiles(const std::vector<float>& values, int n);

// Landmark pairs (xq non-decreasing, as quantiles of two samples at the same levels) made into the
// knots of a function: each run of equal xq becomes one knot at the mean of its yq, and the knots'
// y are then made non-decreasing (averaging a run can put it below the one before).
void merge_landmarks(const std::vector<double>& xq, const std::vector<double>& yq, std::vector<double>& x,
                     std::vector<double>& y);

// Histogram matching as a map: source quantiles -> target quantiles at the same levels (equal runs of
// source quantiles merged into one knot at the mean of their targets; knots at or below 0 dropped),
// above the last knot the overall slope (target range over source range, clipped to [0,
// max_top_slope]). Throws io::Error when the two lists differ in length or are shorter than 2.
IntensityMap quantile_map(const std::vector<double>& source, const std::vector<double>& target, double max_top_slope = 2.0);

// The map v -> w * a(v) + (1 - w) * b(v), exactly (knots at the union of both maps' knots).
IntensityMap blend_maps(const IntensityMap& a, const IntensityMap& b, double w);

}  // namespace im::io
