// Training data of the brain-mask network: subjects on the network's grid with their label masks,
// and augmented copies (a random virtual site, rotation, scaling, flip, sometimes brain-only input).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "io/mask.h"
#include "io/rng.h"
#include "io/simulate.h"
#include "io/slices.h"
#include "io/volume.h"
#include "model/brainmask.h"

namespace im::tools {

// One subject: canonical RAS on the network's grid (raw intensities) and its brain mask there.
struct MaskSubject {
  std::string name;
  io::Volume image;
  io::Mask mask;
};
// Reads a T1 volume and its label map (label > 0 is brain, any grid: brought to the T1 grid through
// both affines), then goes to the network's grid exactly as inference does.
MaskSubject load_mask_subject(const std::string& t1_path, const std::string& labels_path, const model::BrainMaskConfig& cfg);

struct AugmentOptions {
  double p_site = 0.85;         // chance of passing through a random virtual site
  double max_rotation_deg = 12;  // per axis, uniform in +-
  double scale_range = 0.1;      // isotropic scale in 1 +- this, then +- this / 2 per axis
  double max_shift_mm = 10;      // per axis
  double p_flip = 0.5;           // left-right
  double p_brain_only = 0.1;     // input skull-stripped (the mask dilated by 0-2 voxels)
  double intensity_jitter = 0.15;  // global factor in 1 +- this after the intensity scaling
};

// A random virtual site of the simulator's kind (docs/sites/): a monotone contrast curve around a
// random gamma, a polynomial or Gaussian bias field, Rician noise, and sometimes blur or thick slices.
io::Site random_site(io::Rng& rng);

// An augmented copy of `s` on the same grid: intensities already scaled as the network's input
// (scale_intensities), the mask moved with the image.
struct AugmentedVolume {
  io::Volume image;
  io::Mask mask;
};
AugmentedVolume augment(const MaskSubject& s, const AugmentOptions& o, io::Rng& rng);

// Trilinear resampling of a canonical, isotropic volume through a voxel-index affine
// (dst voxel -> src voxel, row-major 3x4); outside the source is 0.
std::vector<float> resample_affine(const std::vector<float>& src, const io::Dims& dim, const double m[12]);

}  // namespace im::tools
