// Random scanner-like changes to a training slice, for the anatomy encoder's input only
// (train.anatomy_augment): a monotone contrast curve, a smooth bias field, in-plane blur,
// through-plane partial volume and Rician noise, the ways the sites of docs/sites/ differ; and the
// contrast of another site's volume by histogram matching (train.anatomy_site_match).
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

#include "io/rng.h"

namespace im::io {

struct AugmentOptions {
  double probability = 0.8;    // of changing a slice at all (the rest pass as acquired)
  double curve = 0.4;          // log-normal spread of the contrast curve's five segment slopes
  double top_min = 0.8;        // the curve maps 1 to U(top_min, 1)
  double bias = 0.12;          // largest amplitude of the smooth multiplicative field (log scale)
  double blur = 0.8;           // largest in-plane Gaussian sigma (voxels), x and y drawn apart
  double through_plane = 0.3;  // largest weight of each neighbouring slice (thick slices)
  double noise = 0.04;         // largest Rician noise sigma (model scale: white matter near 0.7)
  // Probability of first giving a slice the intensity distribution of a volume of another site
  // (match_intensities; the sampler does it, as it holds the other sites' volumes).
  double site_match = 0.0;
};

// `count` quantiles (probabilities 0, 1 / (count - 1), ..., 1) of the brain voxels (> 0) of v[0, n)
// (io::quantiles of those voxels). Throws im::io::Error when there are none or count < 2.
std::vector<double> brain_quantiles(const float* v, size_t n, int count = 101);

// Histogram matching: maps every brain voxel (> 0) of s[0, n) through the monotone curve that takes
// the distribution with quantiles `from` (its own volume's) to the one with quantiles `to`
// (another volume's), linear between quantiles, ends held. A voxel on a run of equal quantiles
// (values clipped at 1 by prep) takes the middle of the run, and those just below it still reach
// the run's first target: io::quantile_map merges such runs into one knot at their mean, which
// moves the voxels below the run (up to 0.06 on the sampler's test). The slice keeps its anatomy
// and takes the other volume's contrast. Background stays 0; brain values stay in [1e-4, 1].
void match_intensities(float* s, size_t n, const std::vector<double>& from, const std::vector<double>& to);

// Changes `s` (H x W, row-major, brain voxels > 0, background 0) in place. `below`/`above` are the
// neighbouring axial slices (nullptr where absent). Background voxels stay 0 and every value stays
// in [0, 1]. Only `rng` decides the draws.
void augment_slice(float* s, const float* below, const float* above, int64_t H, int64_t W, Rng& rng,
                   const AugmentOptions& o);

}  // namespace im::io
