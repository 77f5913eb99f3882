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
#include "io/prep.h"
#include "io/slices.h"
#include "model/imunity.h"
#include "tools/common/checkpoint.h"

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
  io::PrepOptions prep;  // from the axial checkpoint: voxel size, normalization, axial plane W x H
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
  nlohmann::json summary() const;  // kind, source, per-model code hashes (for sidecars)
};

// The per-site code stored in each checkpoint. Throws io::Error listing the available sites when
// the name is unknown.
TargetCode target_from_site(const ModelSet& models, const std::string& site);
// The contrast encoder's mean code over the brain slices (>= 1% brain) of `target` after the
// models' preprocessing, each model on slices of its own orientation.
TargetCode target_from_volume(const ModelSet& models, const io::Volume& target, const io::Mask& mask,
                              const std::string& source, const std::string& mask_source);
// A file written by write_target_code; checks each code's shape and model against `models`.
TargetCode read_target_code(const std::string& path, const ModelSet& models);
nlohmann::json target_code_json(const TargetCode& t, const ModelSet& models);
void write_target_code(const std::string& path, const TargetCode& t, const ModelSet& models, bool overwrite);

struct HarmonizeOptions {
  bool outside_keep = false;       // voxels outside the mask: the normalized input (else 0)
  bool restore_intensity = false;  // map the output back through the inverse normalization
  int64_t batch_size = 0;          // slices per network call; 0: as many as fit a memory budget
};

// Slices per network call for an H x W model on `dev` when the user gave none.
int64_t auto_batch_size(int64_t h, int64_t w, Device dev);

// A volume after the models' preprocessing, with what the output stage needs.
struct PreparedInput {
  io::Volume input;  // as read (for --outside keep)
  io::Mask mask;     // on the input grid
  io::Prepared prepared;
};
PreparedInput prepare_input(io::Volume input, io::Mask mask, const ModelSet& models, const std::string& mask_source);

struct NetworkStats {
  std::map<std::string, std::array<int64_t, 2>> slices;  // per axis: {slices in the stack, slices run}
  nlohmann::json to_json() const;
};
// The harmonized volume on the processed grid: every axis of `models` sliced, background-only
// slices (all voxels below the model's background threshold, which the decoder copies) skipped,
// the others run through the device in batches, put back, and the axes fused by a voxel-wise median.
io::Volume harmonize_prepared(const ModelSet& models, const TargetCode& target, const io::Prepared& p,
                              const HarmonizeOptions& options, NetworkStats* stats = nullptr);
// Back on the input's grid (shape, affine, qform/sform and codes of the input), outside voxels
// zeroed or kept, intensities restored on request.
io::Volume finish_output(const PreparedInput& in, const io::Volume& harmonized, const HarmonizeOptions& options);

// The three stages in one call.
io::Volume harmonize_volume(const ModelSet& models, const TargetCode& target, const io::Volume& input,
                            const io::Mask& mask, const HarmonizeOptions& options, const std::string& mask_source = "");

}  // namespace im::tools
