// N4 bias-field correction (Tustison et al. 2010) through ITK: the field is fitted inside a mask on a
// shrunk copy and rebuilt from its B-spline lattice at full resolution, so the output keeps the grid.
#pragma once
#include <array>
#include <string>
#include <vector>

#include "io/mask.h"
#include "io/volume.h"

namespace im::io {

// False when this build has no ITK (configured with IMUNITY_ITK=OFF, or ITK was not found): then
// n4_correct throws an Error that says so.
bool n4_available();

// The defaults were chosen by measuring quality against time (imunity-bench-n4, docs/n4.md).
struct N4Options {
  // Fitting grid: every axis is shrunk by the integer factor that brings its voxels closest to
  // fit_mm (never below 1), unless `shrink` > 0 fixes the factor for all axes.
  double fit_mm = 6;
  int shrink = 0;
  std::vector<int> iterations = {75, 75, 50};  // maximum per fitting level; each level halves the spans
  double convergence = 1e-3;        // a level stops when the field's change falls below (ITK's measure)
  double spline_distance_mm = 100;  // B-spline span length at the first level (25 mm at the third)
  int spline_order = 3;
  int histogram_bins = 200;
  double fwhm = 0.15;               // of the Gaussian the log-intensity histogram is deconvolved by
  double wiener_noise = 0.01;
};
std::string describe(const N4Options& o);  // "fit 6 mm, iterations 75x75x50, ..." for logs
// Iterations per level as on command lines: {75, 75, 50} <-> "75x75x50" (parse throws Error).
std::string format_n4_iterations(const std::vector<int>& iterations);
std::vector<int> parse_n4_iterations(const std::string& text);

struct N4Info {
  double seconds = 0;                // wall time of n4_correct
  std::array<int, 3> shrink{1, 1, 1};  // factor per voxel axis
  Dims fit_dim{};                    // the shrunk grid
  int64_t fit_voxels = 0;            // voxels of the shrunk grid inside the mask with intensity > 0
  std::array<int, 3> control_points{};  // of the first level's lattice, per axis
  std::vector<int> iterations_run;   // per level
  double field_min = 0, field_max = 0;  // the multiplicative field inside the mask
  int threads = 1;
};

// `v` divided by the N4 bias field. The field is fitted on the voxels of `mask` (laid out like `v`)
// whose intensity is > 0 (N4 works on log intensities), and applied to every voxel; it is scaled so
// that its geometric mean over those voxels is 1 (the output keeps the input's intensity level).
// ITK runs with as many threads as OpenMP (omp_get_max_threads()). Throws Error when N4 is
// unavailable, the mask is empty or does not match, no masked voxel is positive, or the options are bad.
Volume n4_correct(const Volume& v, const Mask& mask, const N4Options& o = {}, N4Info* info = nullptr);

}  // namespace im::io
