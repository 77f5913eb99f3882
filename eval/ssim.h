// Image-similarity metrics against a ground truth: SSIM (2-D per axial slice and 3-D, whole image or
// inside a brain mask, two border conventions), PSNR and MAE inside the mask. Every number comes
// with a Convention string that says exactly how it was computed.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "io/mask.h"
#include "io/volume.h"

namespace im::eval {

// How the ends of the image are handled.
//  skimage: scikit-image's structural_similarity (gaussian_weights=True, use_sample_covariance=False):
//           the local means are Gaussian-filtered with 'reflect' padding (d c b a | a b c d), giving a
//           map as large as the image; the unmasked mean drops `radius` voxels at every border; the
//           masked mean averages the whole map over the mask voxels.
//  valid:   TensorFlow's tf.image.ssim, used by the training loss (engine/losses.h ssim_loss): only
//           windows that lie entirely inside the image; the masked mean averages over mask voxels
//           whose window is inside.
// The two give the same unmasked mean (skimage's crop removes exactly the windows that reach the
// border); they differ for the map, hence for masked means near the border.
enum class SsimBorder { skimage, valid };
const char* border_name(SsimBorder b);  // "skimage border handling" / "TensorFlow 'valid' windows"

struct SsimOptions {
  double sigma = 1.5;       // Gaussian window; radius = int(3.5 * sigma + 0.5) = 5: an 11-tap window
  double k1 = 0.01, k2 = 0.03;
  double data_range = 1.0;  // L: inputs are expected on the project's [0,1] scale (WM peak at 0.7)
  SsimBorder border = SsimBorder::skimage;
  int radius() const { return static_cast<int>(3.5 * sigma + 0.5); }
};

// The SSIM map of two arrays laid out x fastest on (nx, ny, nz), filtering the first `ndim` axes
// (2: each z slice on its own; 3: the whole volume), in double precision. Both modes return the full
// map (the valid mode's value is defined only where the window fits; see ssim_mean).
std::vector<double> ssim_map(const float* a, const float* b, const io::Dims& dim, int ndim,
                             const SsimOptions& options);

// Mean of a map computed by ssim_map on the same dims and ndim. mask == nullptr: the whole image
// (cropped by the radius on the filtered axes, which is exactly 'valid'); otherwise the mask voxels
// (valid mode: only those whose window fits). Returns NaN when nothing is averaged.
struct SsimMean {
  double value = 0;
  int64_t count = 0;  // voxels averaged
};
SsimMean ssim_mean(const std::vector<double>& map, const io::Dims& dim, int ndim, const uint8_t* mask,
                   const SsimOptions& options);

// 3-D SSIM of two volumes on the same grid (11x11x11 window on voxel indices; anisotropic voxels
// are not compensated). mask: nullptr for the unmasked mean.
SsimMean ssim3d(const io::Volume& a, const io::Volume& b, const io::Mask* mask, const SsimOptions& options);

// 2-D SSIM of every axial slice (z slices of the arrays as given: bring volumes to canonical RAS
// with io::to_canonical first). When `mask` is given, only slices with at least
// min_brain_fraction of brain voxels count (the training rule: 1%), and `masked` chooses between
// the mean over the brain voxels of each slice and the mean over the whole slice. Without a mask
// every slice counts and `masked` must be false. `mean` is the mean over the counted slices.
struct SliceSsim {
  std::vector<int64_t> slice;  // z index of each counted slice
  std::vector<double> value;   // its SSIM
  double mean = 0;
};
SliceSsim ssim2d_axial(const io::Volume& a, const io::Volume& b, const io::Mask* mask, bool masked,
                       const SsimOptions& options, double min_brain_fraction = 0.01);

// The per-slice part of ssim2d_axial on a map already computed by ssim_map(..., ndim = 2), so that
// masked and unmasked means share one map.
SliceSsim slice_means(const std::vector<double>& map2d, const io::Dims& dim, const io::Mask* mask, bool masked,
                      const SsimOptions& options, double min_brain_fraction = 0.01);

// PSNR = 10 log10(L^2 / MSE) and MAE = mean |a - b| over the mask voxels (all voxels when null).
double psnr(const io::Volume& a, const io::Volume& b, const io::Mask* mask, double data_range = 1.0);
double mae(const io::Volume& a, const io::Volume& b, const io::Mask* mask);

// "SSIM 2D axial, 11x11 Gaussian sigma 1.5, K1 0.01 K2 0.03, L=1, skimage border handling,
// masked: mean over brain" (+ ", " + scaling when given: how intensities were brought to [0,1]).
std::string ssim_convention(int ndim, bool masked, const SsimOptions& options, const std::string& scaling = "");
std::string psnr_convention(bool masked, double data_range = 1.0, const std::string& scaling = "");
std::string mae_convention(bool masked, const std::string& scaling = "");

}  // namespace im::eval
