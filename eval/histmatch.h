// Histogram matching of an image to a reference inside masks (quantile mapping, the baseline a user
// would otherwise pick), and the 1-D Wasserstein distance between two intensity distributions.
#pragma once
#include <vector>

#include "io/mask.h"
#include "io/volume.h"

namespace im::eval {

// A monotone piecewise-linear intensity map through landmarks (source quantile -> reference quantile
// at the same quantile level). Runs of equal source landmarks (quantized or clipped data) are merged
// into one point at the mean of their reference landmarks, so the map is a function.
struct HistogramMatch {
  std::vector<double> source, reference;  // landmarks, source strictly increasing, reference non-decreasing
  // x <= 0 stays x (background stays background); 0 < x < first landmark: linear from (0, 0) to the
  // first landmark pair (or the first reference landmark when it is <= 0); inside: linear between
  // landmarks; beyond the last landmark: the last reference landmark plus (x - last source) times the
  // overall slope (reference range / source range, 1 when a range is empty).
  double apply(double x) const;
};

struct HistMatchOptions {
  int landmarks = 1001;  // quantile levels k / (landmarks - 1), k = 0..landmarks-1 (0.1% steps)
};

// The voxel values of v inside mask (all voxels when mask is null), in voxel order.
std::vector<double> masked_values(const io::Volume& v, const io::Mask* mask);

// Fits the map from the source intensities to the reference intensities (any sizes; quantiles by
// linear interpolation, numpy.percentile's default). Throws io::Error when either sample is empty.
HistogramMatch fit_histogram_match(std::vector<double> source, std::vector<double> reference,
                                   const HistMatchOptions& options = {});
// Applies the map to every voxel of v (the source's mask chooses what the map was fitted on, not what
// it is applied to), then clips to [lo, hi].
void apply_histogram_match(io::Volume& v, const HistogramMatch& m, double lo = 0.0, double hi = 1.0);

// The 1-D Wasserstein (earth mover's) distance between the empirical distributions of a and b:
// integral of |F_a(x) - F_b(x)| dx, exact (scipy.stats.wasserstein_distance). NaN when either is empty.
double wasserstein1(std::vector<double> a, std::vector<double> b);

}  // namespace im::eval
