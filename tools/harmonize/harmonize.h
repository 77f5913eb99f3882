// The harmonization pipeline of imunity-harmonize, without the command line: models, target
// contrast codes, and one volume through prepare -> slices -> network -> slices -> unprepare.
#pragma once
#include <array>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/device.h"
#include "io/intensity_map.h"
#include "io/prep.h"
#include "io/slices.h"
#include "model/imunity.h"
#include "tools/common/checkpoint.h"
#include "tools/common/thickslice.h"

namespace im::tools {

// One network and the checkpoint it came from.
struct HarmonizeModel {
  std::string path, sha256;  // the checkpoint file and its SHA-256
  std::string orientation = "axial";  // the slices it was trained on ("axial", "coronal", "sagittal")
  CheckpointInfo info;
  std::unique_ptr<model::ImUnity> net;
};

// The networks used for each slicing axis. `per_axis[a]` is null when axis a is not harmonized; in
// 2.5D mode with one checkpoint all three point to the axial model.
struct ModelSet {
  std::array<std::shared_ptr<HarmonizeModel>, 3> per_axis;  // indexed by io::SliceAxis
  // From the axial checkpoint: voxel size, normalization, axial plane W x H, N4 (the training's;
  // imunity-harmonize --n4/--no-n4 changes it).
  io::PrepOptions prep;
  Device device = Device::CPU;
  const HarmonizeModel& axial() const { return *per_axis[static_cast<int>(io::SliceAxis::axial)]; }
  // True when an axial-trained model stands in for another orientation.
  bool borrows_axial_model() const;
  // The distinct models (axial first).
  std::vector<const HarmonizeModel*> distinct() const;
};

// Loads the axial checkpoint (and optionally per-orientation ones) onto `dev`. With
// all_orientations and no coronal/sagittal path, the axial model is used for all three axes.
// Throws io::Error naming the file (unreadable checkpoint, preprocessing that differs between the
// checkpoints, ...).
ModelSet load_models(const std::string& axial_path, Device dev, bool all_orientations,
                     const std::string& coronal_path = "", const std::string& sagittal_path = "");
// The preprocessing a checkpoint records (what its model was trained with).
io::PrepOptions prep_options(const CheckpointInfo& info);
// Shape of a contrast code for this model: [1, C, H/16, W/16], or [1, C, 1, 1] when pooled.
std::vector<int64_t> code_shape(const model::ModelConfig& cfg);

// A contrast code for one model.
struct ContrastCode {
  std::vector<int64_t> shape;
  std::vector<float> values;
  std::string model_sha256;  // the model whose contrast encoder made it
  std::string sha256() const;  // of the float32 values, little-endian (the "code hash" of sidecars)
};

// The target of harmonization: one code per distinct model, keyed by the model's orientation.
struct TargetCode {
  std::string kind;    // "image", "site" or "code"
  std::string source;  // the target image path, the site name, or the code file path
  nlohmann::json provenance = nlohmann::json::object();  // where a code file's codes came from
  std::map<std::string, ContrastCode> codes;
  const ContrastCode& for_model(const HarmonizeModel& m) const;
  // Noise sigma of the target on the models' grid and [0, 1] scale (io::estimate_noise): measured on
  // a target image, stored per site by training; 0 when unknown (then nothing is denoised).
  double noise = 0;
  // The target's brain intensities on the models' grid and [0, 1] scale: io::kBrainQuantileLevels quantiles
  // (of a target image's brain voxels, or stored per site by training); empty when unknown (then
  // the detail stage uses the network's map alone).
  std::vector<double> quantiles;
  nlohmann::json summary() const;  // kind, source, per-model code hashes, noise (for sidecars)
};

// The per-site code stored in each checkpoint. Throws io::Error listing the available sites when
// the name is unknown.
TargetCode target_from_site(const ModelSet& models, const std::string& site);
// The contrast encoder's mean code over the brain slices (>= 1% brain) of `target` after the
// models' preprocessing, each model on slices of its own orientation.
TargetCode target_from_volume(const ModelSet& models, const io::Volume& target, const io::Mask& mask,
                              const std::string& source, const std::string& mask_source);
// The same from a volume already through the models' preprocessing.
// with_quantiles false leaves TargetCode::quantiles empty (the input's own code needs them only
// when the target has quantiles).
// slice_step k > 1: the mean over every k-th brain slice only (HarmonizeOptions::map_slice_step).
TargetCode target_from_prepared(const ModelSet& models, const io::Prepared& p, const std::string& source,
                                const std::string& mask_source, bool with_quantiles = true, int64_t slice_step = 1);
// io::kBrainQuantileLevels quantiles of the brain voxels (mask, > 0) of a volume on the models' grid.
std::vector<double> prepared_quantiles(const io::Volume& image, const io::Mask& mask);
// A file written by write_target_code; checks each code's shape and model against `models`.
TargetCode read_target_code(const std::string& path, const ModelSet& models);
nlohmann::json target_code_json(const TargetCode& t, const ModelSet& models);
void write_target_code(const std::string& path, const TargetCode& t, const ModelSet& models, bool overwrite);

// What the output volume is made of.
enum class OutputStage {
  // The input's own voxels, at the input's resolution, through a monotone intensity map that the
  // network decides: fitted, inside the brain, from the decoder's rendering of the volume under its
  // own contrast code to its rendering under the target code (both equally blurred, so the blur
  // cancels and only the contrast change remains). Anatomy is the input's, voxel for voxel.
  detail,
  // The decoder's output itself (the paper's harmonized image): the anatomy as the coarse code
  // carries it, resampled back to the input grid.
  decoder,
};
const char* output_stage_name(OutputStage s);
OutputStage parse_output_stage(const std::string& name);  // "detail" or "decoder"; throws io::Error

// Voxels outside the brain mask: 0, the input's own voxels on the output's scale (normalized with
// the same linear map), or (detail stage only) those voxels through the stage's map as well, like
// the brain (what a baseline that maps every voxel, histogram matching say, gives).
enum class Outside { zero, keep, map };
const char* outside_name(Outside o);
Outside parse_outside(const std::string& name);  // "zero", "keep" or "map"; throws io::Error

struct HarmonizeOptions {
  OutputStage output = OutputStage::detail;
  io::IntensityMapOptions map;     // the detail stage's fit
  // Noise harmonization (detail stage): when the input's noise on the models' grid exceeds the
  // target's by more than noise_ratio, non-local means with h = nlm_strength x the excess noise
  // (measured on the input's own grid) brings it down to about the target's level.
  bool denoise = true;
  // The weight of the network's map in the detail stage's map; the rest goes to histogram matching
  // of the input's brain intensities to the target's (TargetCode::quantiles), when the target has
  // them. Each alone errs in its own way (the network's map sees contrast through a coarse code;
  // quantile matching assumes equal tissue proportions), and their mean beat both on the
  // reproducibility run (docs/harmonize.md).
  double network_weight = 0.5;
  // 1.1: held-out scans of the target site itself measure 0.79-1.03 x its stored noise, and the
  // 1.5T-like site's 1.25 x (left alone at 1.5) costs 0.008 brain SSIM (docs/harmonize.md).
  double noise_ratio = 1.1, nlm_strength = 1.0;
  Outside outside = Outside::zero;  // voxels outside the mask
  bool restore_intensity = false;  // map the output back through the inverse normalization
  int64_t batch_size = 0;          // slices per network call; 0: as many as fit a memory budget
  // The detail stage's map is global, so it needs the network on a sample of the brain, not on
  // every slice: every map_slice_step-th axial slice is rendered (and averaged into the volume's own
  // contrast code), at 1 / map_slice_step of the network's time; 1: every slice. Models of several
  // orientations, and brains under 16 slices, always use every slice.
  int map_slice_step = 2;
  // Thick-slice inputs restored by the thick-slice network before anything else (prepare_input):
  // auto restores where one axis is detected much smoother than the others (docs/harmonize.md).
  ThickSliceOptions thick_slices;
};

// Slices per network call for an H x W model on `dev` when the user gave none.
int64_t auto_batch_size(int64_t h, int64_t w, Device dev);

// A volume after the models' preprocessing, with what the output stage needs.
struct PreparedInput {
  // As read, restored along its thick axis when thick slices were restored, divided by its N4 bias
  // field when models.prep.n4: what the detail stage maps.
  io::Volume input;
  io::Mask mask;     // on the input grid
  io::Prepared prepared;
  ThickSliceResult thick;  // what thick-slice detection found and did (for sidecars)
};
// Thick slices restored (options.mode), then the models' preprocessing (N4 included).
PreparedInput prepare_input(io::Volume input, io::Mask mask, const ModelSet& models, const std::string& mask_source,
                            const ThickSliceOptions& thick = {});

// N4 bias-field correction before the model, the default unless the model was trained with it:
// measured on the reproducibility run (docs/n4.md).
constexpr bool kHarmonizeN4Default = false;
// Whether inputs are bias-corrected: `requested` 1 (--n4) or 0 (--no-n4), or -1 for the default:
// on when the model was trained on corrected volumes or kHarmonizeN4Default says so, and this build
// has ITK.
bool harmonize_n4(int requested, bool trained_with_n4);

struct NetworkStats {
  std::map<std::string, std::array<int64_t, 2>> slices;  // per axis: {slices in the stack, slices run}
  nlohmann::json to_json() const;
};
// The network's part of one volume, on the processed grid.
struct NetworkResult {
  // The decoder's rendering under the target code, and in the detail stage under the volume's own
  // code. With a map_slice_step above 1 only the rendered slices are the network's (the others
  // hold the input): the decoder output needs OutputStage::decoder.
  io::Volume decoder;
  io::Volume own;        // (empty outside the detail stage)
  int64_t slice_step = 1;  // the step the renderings were made with
  io::IntensityMap map;  // detail stage: what is applied (the blend of the two below)
  io::IntensityMap network_map;   // own -> decoder, fitted in the brain mask
  io::IntensityMap quantile_map;  // the input's brain quantiles -> the target's (empty: none)
  double network_weight = 1;      // of network_map in map
  // Detail stage: the input's and the target's noise on the models' grid, and the fraction of the
  // input's noise that is excess over the target's (0: not denoised).
  double noise_input = 0, noise_target = 0, excess_fraction = 0;
  nlohmann::json summary() const;  // for sidecars: the stage and its map
};
// Every axis of `models` sliced, background-only slices (all voxels below the model's background
// threshold, which the decoder copies) skipped, the others run through the device in batches, put
// back, and the axes fused by a voxel-wise median; for the detail stage the same slices also
// decoded under the volume's own mean contrast code, and the map fitted between the two. A
// rendering with a NaN or Inf voxel throws io::Error (require_finite) before any map is fitted.
NetworkResult harmonize_prepared(const ModelSet& models, const TargetCode& target, const io::Prepared& p,
                                 const HarmonizeOptions& options, NetworkStats* stats = nullptr);
// Throws io::Error when `v` holds a NaN or Inf voxel ("<what>: N of M voxels are NaN or Inf ..."):
// a broken model or an input that makes the network overflow; such a result is never written.
void require_finite(const io::Volume& v, const std::string& what);
// Back on the input's grid (shape, affine, qform/sform and codes of the input), outside voxels
// zeroed or kept, intensities restored on request. The detail stage applies the map to the input's
// own normalized voxels there; the decoder stage resamples the decoder's rendering.
io::Volume finish_output(const PreparedInput& in, const NetworkResult& r, const HarmonizeOptions& options);

// The three stages in one call.
io::Volume harmonize_volume(const ModelSet& models, const TargetCode& target, const io::Volume& input,
                            const io::Mask& mask, const HarmonizeOptions& options, const std::string& mask_source = "");

}  // namespace im::tools
