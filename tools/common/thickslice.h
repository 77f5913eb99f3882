// Thick-slice inputs: detection (one voxel axis much smoother than the other two inside the brain)
// and restoration by the thick-slice network (model/thickslice.h) run on the planes that contain
// that axis, before the output stage maps intensities; weight files of the network.
#pragma once
#include <array>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "engine/device.h"
#include "io/mask.h"
#include "io/volume.h"
#include "model/thickslice.h"

namespace im::tools {

struct ThickSliceModel {
  std::string path, sha256;
  nlohmann::json training = nlohmann::json::object();  // what the file records about its training
  std::unique_ptr<model::ThickSliceNet> net;
};

// safetensors with the parameters by name, and in __metadata__ the config ("thickslice_config") and
// `training` (data, command, figures). Atomic.
void save_thick_slice_model(const std::string& path, model::ThickSliceNet& net, const nlohmann::json& training);
// Throws io::Error naming the file (not a thick-slice file, missing or misshapen tensor, NaN, ...).
std::unique_ptr<ThickSliceModel> load_thick_slice_model(const std::string& path, Device dev = Device::CPU);
// $IMUNITY_THICKSLICE_MODEL when set, else model/weights/thickslice-2mm.safetensors of the source
// tree the program was built from.
std::string default_thick_slice_model_path();
// That model, loaded once per process (thread-safe) on the CPU.
const ThickSliceModel& default_thick_slice_model();

// The measure: for each voxel axis, the mean squared first difference along it over voxel pairs
// inside the mask (neither voxel exactly 0: missing data, not anatomy), less the 2 sigma^2 that
// white noise adds to every axis (sigma: io::estimate_noise), divided by the mean of the other two
// axes' (1 for isotropic detail). A volume acquired in thick slices and re-sampled finer, or blurred
// along one axis, has one axis far below 1. Measured on held-out IXI-HH volumes (2 mm;
// docs/thickslice-model-card.md): thin, their smoothest axis 0.70-0.83 with or without added noise
// (the real scans are not isotropic); 6 mm slices 0.41-0.52; 4 mm slices with 4.5-8% noise
// 0.48-0.61; a 3 mm FWHM blur 0.66-0.79. The threshold sits between thin and thick slices.
constexpr double kThickSliceThreshold = 0.65;
struct ThickSliceDetection {
  std::array<double, 3> ratio{1, 1, 1};
  int axis = -1;  // the voxel axis with the lowest ratio when it is below the threshold; -1: none
  double threshold = kThickSliceThreshold;
  bool measured = true;  // false: under 1 000 voxel pairs inside the mask along some axis (ratios left at 1)
  double noise_sigma = 0;  // the noise taken out of the energies (the volume's units)
  nlohmann::json to_json() const;
};
// Throws io::Error when the mask does not match the volume.
ThickSliceDetection detect_thick_slices(const io::Volume& v, const io::Mask& mask, double threshold = kThickSliceThreshold);

// off: never; auto: when an axis is detected and the voxels are within voxel_tolerance (a fraction)
// of the grid the network was trained on; on: always, along the lowest-ratio axis.
enum class ThickSliceMode { off, automatic, on };
const char* thick_slice_mode_name(ThickSliceMode m);
ThickSliceMode parse_thick_slice_mode(const std::string& name);  // "off", "auto" or "on"; throws io::Error

struct ThickSliceOptions {
  ThickSliceMode mode = ThickSliceMode::automatic;
  double threshold = kThickSliceThreshold;
  double voxel_tolerance = 0.25;
  int64_t batch = 16;  // planes per network call
};

struct ThickSliceResult {
  ThickSliceMode mode = ThickSliceMode::off;
  ThickSliceDetection detection;
  bool restored = false;
  std::string reason;  // why it was or was not restored, in words
  std::string model_sha256;
  double seconds = 0;
  nlohmann::json to_json() const;  // for sidecars
};

// Detects (unless off) and restores `v` in place on its own grid: the network runs on every plane
// that contains the thick axis, in both such plane families (averaged), over the mask's bounding
// box with a margin, on intensities divided by the brain's 90th percentile (then multiplied back).
// Only voxels inside the mask change, and a voxel at exactly 0 stays 0. `net` null: the default model.
ThickSliceResult restore_thick_slices(io::Volume& v, const io::Mask& mask, const ThickSliceOptions& options,
                                      const ThickSliceModel* net = nullptr);
// The network part alone: `axis` restored in place, voxels inside the mask only (those at 0 kept).
void restore_axis(io::Volume& v, const io::Mask& mask, int axis, model::ThickSliceNet& net, int64_t batch = 16);

}  // namespace im::tools
