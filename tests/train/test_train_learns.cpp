// A few hundred CPU steps on real IXI slices through two virtual sites: the reconstruction loss
// falls and the site head stays near chance on the anatomy codes (the confusion term at work).
#include <catch2/catch.hpp>

#include <fstream>

#include <nlohmann/json.hpp>

#include "support/paths.h"
#include "tools/train/train_run.h"
#include "train/train_data.h"

using namespace im;

TEST_CASE("train learns: L1 falls and the site head stays near chance on real slices with two virtual sites") {
  std::string manifest = test::virtual_site_manifest(4, {"low_contrast.json", "high_contrast_15t.json"});
  std::string dir = test::scratch_dir("train_learns");
  tools::TrainRunOptions o;
  o.manifest = manifest;
  o.out_dir = dir + "/run";
  o.quiet = true;
  // 4 mm voxels (64x64 slices) and the authors' learning rate keep this to a couple of minutes on
  // two cores; the loss weights are the paper's, with the shipped recipe's two disentangling knobs
  // (docs/training.md, "what was tried"): the anatomy encoder sees its own gamma, and the confusion
  // term weighs 10. With the paper's weights alone and the KL averaged over latent elements, the
  // anatomy code keeps the site (accuracy 0.78 here at step 200, chance 0.5); with the KL summed
  // over elements it stayed near chance only because the code carried little of anything.
  o.setup = tools::assemble_setup("", "paper", {"model.image_h=64", "model.image_w=64", "train.voxel_size=4",
                                                "train.batch=8", "train.steps=200", "train.lr=0.001",
                                                "train.log_every=10", "train.validate_every=50",
                                                "train.validation_batches=4", "train.code_slices=16",
                                                "train.anatomy_gamma=true", "train.lambda_confusion=10",
                                                "train.device=\"cpu\""});
  REQUIRE(tools::run_training(o) == 0);
  std::vector<double> l1, site_acc;
  std::ifstream log(dir + "/run/log.jsonl");
  std::string line;
  while (std::getline(log, line)) {
    nlohmann::json j = nlohmann::json::parse(line);
    if (j.contains("losses")) l1.push_back(j["losses"]["l1"]);
    if (j.contains("validation")) site_acc.push_back(j["validation"]["site_accuracy"]);
  }
  REQUIRE(l1.size() == 20);
  REQUIRE(site_acc.size() == 4);
  // Batches differ a lot (random volumes, slices and gammas): compare the first and last quarters.
  double first = 0, last = 0;
  for (int i = 0; i < 5; ++i) first += l1[i] / 5, last += l1[l1.size() - 1 - i] / 5;
  INFO("mean L1 over the first 50 steps " << first << ", over the last 50 " << last);
  CHECK(last < 0.85 * first);
  INFO("site-head accuracy at each validation (chance 0.5): " << site_acc[0] << " " << site_acc[1] << " "
                                                             << site_acc[2] << " " << site_acc[3]);
  CHECK(site_acc.back() <= 0.7);
}
