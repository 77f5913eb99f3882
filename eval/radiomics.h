// Radiomic features inside a brain mask, following pyradiomics' definitions (van Griethuysen 2017):
// first-order statistics of the intensities, and GLCM texture features averaged over the 13 3-D
// directions at distance 1 on intensities discretized to a fixed number of bins. The formulas are
// in docs/evaluation.md.
#pragma once
#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "io/mask.h"
#include "io/volume.h"

namespace im::eval {

struct RadiomicsOptions {
  int bins = 32;                 // fixed bin count over [min, max] of the ROI (pyradiomics binCount)
  bool texture = true;           // GLCM features (false: first-order and shape only)
};

// pyradiomics' binCount discretization: edges = linspace(min, max, bins + 1), the last edge moved up
// by 1 so the maximum falls in the last bin, level = numpy.digitize(x, edges) in 1..bins. A constant
// ROI gives level 1 everywhere.
std::vector<int> discretize(const std::vector<double>& x, int bins);

// numpy.percentile with linear interpolation (q in 0..100) of values sorted ascending.
double percentile_sorted(const std::vector<double>& sorted, double q);

// First-order features of the ROI intensities x (any order). `levels` are the discretized
// intensities (for Entropy and Uniformity); voxel_volume is in mm^3 (TotalEnergy).
// Order and names: first_order_names().
std::vector<double> first_order(const std::vector<double>& x, const std::vector<int>& levels, double voxel_volume);
const std::vector<std::string>& first_order_names();

// A symmetric gray-level co-occurrence matrix with levels 1..n (stored 0-based, n x n, row-major):
// counts of (level(v), level(v + d)) for voxels v and v + d both in the ROI, plus its transpose.
struct Glcm {
  int n = 0;
  std::vector<double> count;
  double total() const;
};
// The 13 unique directions of the 26-neighbourhood: (dx, dy, dz) with the first non-zero
// component positive, in the order z-major (dz=1 first).
const std::vector<std::array<int, 3>>& glcm_directions();
// levels: 0 outside the ROI, 1..n inside, laid out on dim (x fastest).
Glcm glcm(const std::vector<int>& levels, const io::Dims& dim, int n, const std::array<int, 3>& direction);
// Features of one matrix (normalized inside); names: glcm_names(). NaN when the matrix is empty.
std::vector<double> glcm_features(const Glcm& m);
const std::vector<std::string>& glcm_names();

// Every feature of a volume inside the mask: "firstorder_*", "glcm_*" (mean over the directions
// with at least one pair) and "shape_VoxelVolume" (mm^3). Throws when the mask is empty or does not
// match the volume.
struct FeatureVector {
  std::vector<std::string> names;
  std::vector<double> values;
};
FeatureVector radiomic_features(const io::Volume& v, const io::Mask& mask, const RadiomicsOptions& options = {});
std::vector<std::string> radiomic_feature_names(const RadiomicsOptions& options = {});

}  // namespace im::eval
