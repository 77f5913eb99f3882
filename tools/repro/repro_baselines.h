// The baselines of the reproducibility run: what a user would otherwise do to make images from two
// scanners comparable (nothing, WM-peak or White-Stripe normalization, histogram matching, N4 first).
#pragma once
#include <vector>

#include "io/mask.h"
#include "io/normalize.h"
#include "io/volume.h"

namespace im::tools {

// No harmonization: [0, P(upper) of the brain voxels] -> [0, 1], clipped (negative values to 0).
// The intensities only land on the unit scale the metrics need; the white matter is not aligned.
io::Volume rescale_unit(const io::Volume& v, const io::Mask& brain, double upper_percentile = 99.5);

// The project's normalization fitted inside the brain mask and applied to the whole volume:
// [0, 1] with the WM peak (wm_peak) or the White-Stripe mean (white_stripe) at 0.7, clipped.
io::Volume normalize_in_mask(const io::Volume& v, const io::Mask& brain, io::NormMethod method);

// Histogram matching inside the brain masks: `source` (already on the [0, 1] scale, e.g. WM-peak
// normalized) mapped by quantiles of its brain voxels onto `reference_values` (the brain voxels of
// a reference-site image on the same scale; another subject, as a user would have), applied to
// every voxel and clipped to [0, 1] (eval/histmatch.h).
io::Volume match_histogram(const io::Volume& source, const io::Mask& source_brain,
                           const std::vector<double>& reference_values);

// N4 bias-field correction inside the brain mask (io/n4.h, its defaults), then WM-peak normalization
// (normalize_in_mask): what a careful user does before histogram matching. Throws io::Error in a
// build without ITK.
io::Volume n4_normalize_in_mask(const io::Volume& v, const io::Mask& brain);

}  // namespace im::tools
