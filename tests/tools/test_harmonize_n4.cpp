// imunity-harmonize with N4: the bias field is divided out on the input's own grid before
// normalization, and the detail stage maps those corrected voxels, so the output is bias-corrected;
// a model trained with train.n4 records it and gets corrected inputs.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <filesystem>

#include "io/n4.h"
#include "io/nifti.h"
#include "io/normalize.h"
#include "io/simulate.h"
#include "tests/support/paths.h"
#include "tools/harmonize/harmonize.h"
#include "tools/train/train_config.h"

namespace fs = std::filesystem;
using namespace im;
using namespace im::tools;

TEST_CASE("harmonize n4: the detail stage maps the N4-corrected input, so the field leaves the output", "[harmonize][n4]") {
  const std::string data = test::data_dir();
  const std::string t1 = data + "/ixi_hh_2mm/t1/IXI015-HH-1258_T1.nii.gz";
  const std::string labels = data + "/ixi_hh_2mm/labels/IXI015-HH-1258_T1_DLMUSE.nii.gz";
  REQUIRE(fs::exists(t1));
  REQUIRE(fs::exists(labels));
  ModelSet models = load_models(std::string(IMUNITY_SOURCE_DIR) + "/model/weights/imunity-default-2mm.safetensors", Device::CPU, false);
  REQUIRE_FALSE(models.prep.n4);  // the shipped model was trained without N4
  if (!io::n4_available()) {
    REQUIRE_FALSE(harmonize_n4(-1, false));  // the default cannot be on without ITK
    WARN("skipped: this build has no ITK, so imunity-harmonize cannot correct the bias field");
    return;
  }
  REQUIRE(harmonize_n4(1, false));
  REQUIRE_FALSE(harmonize_n4(0, true));
  models.prep.n4 = true;
  const io::Volume v = io::read_volume(t1);
  const io::Mask brain = io::read_label_mask(v, labels);
  io::Site site = io::read_sites(std::string(IMUNITY_SOURCE_DIR) + "/docs/sites/bias_heavy.json").at(0);
  io::SimulationDetail d;
  const io::Volume src = io::simulate_site(v, brain, site, 3, "IXI015", &d);
  site.bias = io::BiasSpec{};  // the same contrast and noise without the field
  const io::Volume flat = io::simulate_site(v, brain, site, 3, "IXI015");

  const PreparedInput in = prepare_input(src, brain, models, "labels:" + labels);
  REQUIRE(in.prepared.record.n4);
  REQUIRE(in.input.dim == src.dim);
  REQUIRE(in.input.affine == src.affine);
  const NetworkResult net = harmonize_prepared(models, target_from_site(models, "ixi_hh"), in.prepared, {});
  const io::Volume out = finish_output(in, net, {});
  REQUIRE(out.dim == src.dim);
  REQUIRE(out.affine == src.affine);

  // The field N4 took out (src over the corrected input) follows the simulated one. N4 also takes
  // out the scan's own field, so that part (what it takes out of the same site without the field)
  // is discounted: then their logs correlate in the brain (as imunity-bench-n4 scores it).
  const PreparedInput in_flat = prepare_input(flat, brain, models, "labels:" + labels);
  double n = 0, se = 0, st = 0, see = 0, stt = 0, set = 0;
  for (size_t i = 0; i < brain.size(); ++i)
    if (brain[i] && src.data[i] > 0 && in.input.data[i] > 0 && flat.data[i] > 0 && in_flat.input.data[i] > 0) {
      const double e = std::log(double(src.data[i]) / in.input.data[i]) - std::log(double(flat.data[i]) / in_flat.input.data[i]);
      const double t = std::log(double(d.bias[i]));
      n += 1, se += e, st += t, see += e * e, stt += t * t, set += e * t;
    }
  const double corr = (set - se * st / n) / std::sqrt((see - se * se / n) * (stt - st * st / n));
  INFO("correlation of the removed log field with the simulated one: " << corr);
  CHECK(corr > 0.9);

  // Every brain voxel of the output is the stage's map of its own corrected, normalized input voxel.
  io::Volume norm = in.input;
  io::apply_normalization(norm, in.prepared.record.norm);
  int64_t wrong = 0;
  for (size_t i = 0; i < brain.size(); ++i)
    if (brain[i]) wrong += std::abs(out.data[i] - std::clamp(net.map(norm.data[i]), 0.0, 1.0)) > 1e-6;
  CHECK(wrong == 0);
}

TEST_CASE("harmonize n4: train.n4 goes into the checkpoint's config and turns N4 on for the model's inputs", "[harmonize][n4]") {
  const TrainSetup setup = assemble_setup("", "", {"train.n4=true"});  // what imunity-train --n4 adds
  REQUIRE(setup.train.n4);
  CheckpointInfo info;
  info.train = nlohmann::json(setup.train).get<model::TrainConfig>();  // as the checkpoint stores it
  REQUIRE(info.train.n4);
  REQUIRE(prep_options(info).n4);
  // A config without the key (every checkpoint written before N4 existed) reads as off.
  nlohmann::json old = setup.train;
  old.erase("n4");
  REQUIRE_FALSE(old.get<model::TrainConfig>().n4);
  REQUIRE(harmonize_n4(-1, true) == io::n4_available());
  REQUIRE(harmonize_n4(-1, false) == (kHarmonizeN4Default && io::n4_available()));
}
