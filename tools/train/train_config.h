// Assembling the effective training setup: defaults, then the preset, then a config file, then
// command-line overrides (--set section.key=value); and the manifest's biological features.
#pragma once
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "model/config.h"
#include "tools/train/manifest.h"

namespace im::tools {

struct TrainSetup {
  model::ModelConfig model;
  model::TrainConfig train;
};

// config_file may be empty. preset may be empty (the file's, else "paper"). overrides are
// "key=value" with key "model.<field>", "train.<field>" or a bare training field; value is JSON
// (numbers, true/false, lists) or else taken as a string. Throws im::Error on unknown keys.
TrainSetup assemble_setup(const std::string& config_file, const std::string& preset,
                          const std::vector<std::string>& overrides);

// A resumed run's training config with the overrides (as above) applied: training fields may
// change from the resumed step on (a longer schedule, a new loss weight or augmentation); model
// fields may not (throws unless the override repeats the model's value). `changed` receives each
// training field that changed, with "old -> new".
struct FieldChange {
  std::string field, values;
};
model::TrainConfig resumed_train_config(const model::ModelConfig& model, const model::TrainConfig& resumed,
                                        const std::vector<std::string>& overrides, std::vector<FieldChange>* changed = nullptr);

// Fills the biological features' classes (binary: the two distinct values, sorted, unless given)
// and mean/scale (continuous: from the manifest, unless given) and checks every row has them.
void resolve_bio_features(model::ModelConfig& mc, const Manifest& manifest);
// The covariate vector of a row, in the order of mc.bio (binary: class index; continuous: raw).
std::vector<float> covariates_of(const model::ModelConfig& mc, const ManifestRow& row, const std::string& file);

}  // namespace im::tools
