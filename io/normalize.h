// Intensity normalization inside a brain mask: WM peak at 0.7 on a [0,1] scale (the paper), or
// White-Stripe (Shinohara et al. 2014) mapped onto the same scale. Both are one linear map
// out = clip(scale * in + offset, 0, 1), kept in NormParams so that it can be undone. With an
// automatic head mask the statistics come from the mask's brain core (mask.h), not the whole head.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "io/mask.h"
#include "io/volume.h"

namespace im::io {

enum class NormMethod { none, wm_peak, white_stripe };
const char* norm_name(NormMethod m);           // "none", "wm-peak", "white-stripe"
NormMethod parse_norm(const std::string& name);  // accepts - or _; throws Error otherwise

// The voxels the WM peak (and White-Stripe's stripe) is taken from. automatic: the brain core when
// the mask is an automatic head mask (whole-head images: scalp fat, marrow, face and neck would
// otherwise outweigh the brain), the mask itself otherwise.
enum class NormRegion { automatic, mask, brain_core };
const char* region_name(NormRegion r);             // "auto", "mask", "brain-core"
NormRegion parse_region(const std::string& name);  // accepts - or _; throws Error otherwise

// The brain core (io::brain_core) and its histogram. Chosen on the 138 IXI whole-head volumes
// against their DLMUSE white matter, the Siemens MPRAGE and the clinical scans (docs/data-path.md).
struct BrainCoreOptions {
  double margin_mm = 22;           // depth inside the head mask: scalp, skull and most cortex fall away
  double depth_mm = 100;           // below the top of the head: neck, face, skull base fall away
  double smooth_fraction = 0.02;   // histogram smoothing (WM dominates the core; 2% steadies its mode)
  double min_peak_height = 0.5;    // the WM mode is the brightest one at least half the highest
  double min_fraction = 0.03;      // a core under this fraction of the mask is retried with half the
                                   // margin, then the whole mask is used (and recorded)
};

struct NormOptions {
  NormMethod method = NormMethod::wm_peak;
  double wm_target = 0.7;          // where the WM peak (White-Stripe: the stripe mean) lands
  double upper_percentile = 99.5;  // the histogram covers [0, this percentile of the masked voxels]
  int bins = 200;                  // histogram bins over that range
  double smooth_fraction = 0.01;   // Gaussian sigma of the histogram smoothing, as a fraction of the
                                   // upper percentile value (1%: resolves the WM mode at 2 mm)
  double min_peak_height = 0.1;    // a mode counts when its height is >= this x the highest one
  // With a brain (label) mask, the WM mode is taken from the flattest `flat_fraction` of the mask's
  // voxels (lowest gradient magnitude: tissue interiors). On 2 mm images the voxels at grey/white
  // borders fill the valley between the two modes, and the last mode of all the brain's voxels
  // lands sometimes on a WM bump, sometimes on the GM/WM blend (IXI: within 5% of the WM label mode
  // for 65% of the 20 test subjects, worst 17%); the interiors keep one WM mode, which sits a fixed
  // factor above the WM label mode: `flat_peak_ratio`, the median over the 118 IXI subjects outside
  // the test set, divides it back to the convention the models were trained on (test subjects: 95%
  // within 5%, worst 10%; docs/data-path.md). 1 = all voxels, as before. The brain core (head masks)
  // has its own statistics and does not use this.
  double flat_fraction = 0.3;
  double flat_peak_ratio = 1.045;
  double ws_tau = 0.05;            // White-Stripe: stripe half-width, in quantiles around the WM peak
  double ws_sd_target = 0.0175;     // White-Stripe: one stripe standard deviation on the [0,1] scale
                                   // (0.7 x the mean stripe sd/mean of the 138 IXI T1: 0.025)
  NormRegion region = NormRegion::automatic;
  BrainCoreOptions core;
};

struct NormParams {
  NormMethod method = NormMethod::none;
  double scale = 1, offset = 0;  // out = clip(scale * in + offset, 0, 1); method none: out = in
  double upper = 0;              // the upper_percentile value (input units)
  double wm_peak = 0;            // the WM peak (input units)
  double stripe_lo = 0, stripe_hi = 0, stripe_mean = 0, stripe_sd = 0;  // White-Stripe (input units)
  NormRegion region = NormRegion::mask;  // where the statistics came from: mask or brain_core
  double core_margin_mm = 0;             // brain_core: the margin used (halved when the core was small)
  double core_depth_mm = 0;              // brain_core: the depth window used
  int64_t region_voxels = 0;             // voxels the statistics came from
};

struct Histogram {
  double lo = 0, hi = 1;
  std::vector<double> count;
  double width() const { return (hi - lo) / static_cast<double>(count.size()); }
  double center(double bin) const { return lo + (bin + 0.5) * width(); }
};
// Histogram of the voxels in the mask (all voxels when mask is null) within [lo, hi].
Histogram histogram(const std::vector<float>& v, const Mask* mask, double lo, double hi, int bins);
std::vector<double> smooth(const std::vector<double>& h, double sigma_bins);
// Position (in bins, sub-bin by parabolic interpolation) of the highest-intensity local maximum
// whose height is at least min_height x the global maximum; the two end bins never count.
double last_mode_bin(const std::vector<double>& smoothed, double min_height);
// Spacing of the values an integer-typed input can take (its scl_slope, or 1); 0 for float data.
double quantization_step(const NiftiHeaderInfo& h);
// Float data that still take few values on a lattice (a uint8 scan saved as float32 by another
// tool, say): that lattice's step and the offset of its points (value = phase + k * step), found
// from the values themselves; {0, 0} when there are more than max_distinct distinct values or
// they are not on one lattice.
struct Lattice {
  double step = 0, phase = 0;
};
Lattice value_lattice(const std::vector<float>& values, size_t max_distinct = 4096);
// The p-th percentile (0-100) of `values` (nearest rank below; 0 for none).
double percentile(std::vector<float> values, double p);

// Fits the map on the voxels inside `mask`, or inside its brain core (options.region; automatic picks
// the core when head_mask says the mask is an automatic head/foreground mask). Throws Error when the
// mask is empty or has no mode.
NormParams fit_normalization(const Volume& v, const Mask& mask, const NormOptions& options, bool head_mask = false);
// Applies the map; voxels <= 0 stay 0 (background stays background whatever the offset).
void apply_normalization(Volume& v, const NormParams& p);
// in = (out - offset) / scale, for voxels > 0; clipped values do not come back.
void invert_normalization(Volume& v, const NormParams& p);

}  // namespace im::io
