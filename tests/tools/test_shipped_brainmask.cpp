// The shipped brain-mask weights (model/weights/brainmask-2mm.safetensors): they load, record their
// training, and mask held-out IXI subjects (never seen in training) as their labels do.
#include <catch2/catch.hpp>

#include <filesystem>

#include "eval/segmentation.h"
#include "io/mask.h"
#include "io/nifti.h"
#include "support/paths.h"
#include "tools/common/brain_mask.h"

namespace fs = std::filesystem;
using namespace im;

TEST_CASE("shipped brain mask: Dice >= 0.95 on two held-out IXI subjects, as acquired", "[shipped][brainmask]") {
  const std::string weights = std::string(IMUNITY_SOURCE_DIR) + "/model/weights/brainmask-2mm.safetensors";
  REQUIRE(fs::exists(weights));
  const auto model = tools::load_brain_mask_model(weights);
  CHECK(fs::file_size(weights) < 4u * 1024 * 1024);
  // The file says it held out the first 20 subjects.
  CHECK(model->training.at("test_subjects").get<int>() == 20);
  const std::string data = test::data_dir();
  INFO("the shared data: ../shared/data beside the checkout, or $IMUNITY_DATA");
  REQUIRE(!data.empty());
  // IXI013 and IXI104: the first and the 20th subject sorted by name, both held out.
  for (const char* name : {"IXI013-HH-1212_T1", "IXI104-HH-1450_T1"}) {
    INFO(name);
    const std::string t1 = data + "/ixi_hh_2mm/t1/" + name + ".nii.gz", labels = data + "/ixi_hh_2mm/labels/" + name + "_DLMUSE.nii.gz";
    REQUIRE(fs::exists(t1));
    const io::Volume v = io::read_volume(t1);
    const io::Mask truth = io::read_label_mask(v, labels);
    const io::Mask m = tools::predict_brain_mask(*model->net, v).mask;
    const eval::SegmentationScores s = eval::compare_masks(m, truth, v.dim, v.voxel_size());
    CHECK(s.dice >= 0.95);
    CHECK(std::abs(s.volume_diff_pct) < 5);
  }
}
