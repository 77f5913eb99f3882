// The shipped model (model/weights/imunity-default-2mm.safetensors) loads, records what the model
// card says, and harmonizes a held-out IXI volume into an image that follows its anatomy.
#include <catch2/catch.hpp>

#include <cmath>
#include <filesystem>

#include "io/mask.h"
#include "io/nifti.h"
#include "io/prep.h"
#include "tests/support/paths.h"
#include "tools/harmonize/harmonize.h"

namespace fs = std::filesystem;
using namespace im;

namespace {

const std::string kModel = std::string(IMUNITY_SOURCE_DIR) + "/model/weights/imunity-default-2mm.safetensors";

// Pearson correlation of a and b over the voxels of m.
double correlation(const std::vector<float>& a, const std::vector<float>& b, const io::Mask& m) {
  double n = 0, sa = 0, sb = 0, saa = 0, sbb = 0, sab = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    if (!m[i]) continue;
    n += 1, sa += a[i], sb += b[i], saa += double(a[i]) * a[i], sbb += double(b[i]) * b[i], sab += double(a[i]) * b[i];
  }
  const double va = saa - sa * sa / n, vb = sbb - sb * sb / n;
  return (sab - sa * sb / n) / std::sqrt(va * vb);
}

}  // namespace

TEST_CASE("shipped model: loads, records its preprocessing and sites, and follows the anatomy of an unseen subject", "[shipped]") {
  REQUIRE(fs::exists(kModel));
  const tools::ModelSet models = tools::load_models(kModel, Device::CPU, false);
  const model::ModelConfig& mc = models.axial().info.model;
  CHECK(mc.image_h == 128);
  CHECK(mc.image_w == 128);
  CHECK(mc.contrast_pooled);
  CHECK(models.prep.voxel_size == Approx(2.0));
  CHECK(std::find(mc.site_names.begin(), mc.site_names.end(), "ixi_hh") != mc.site_names.end());
  CHECK(mc.site_names.size() == 4);  // ixi_hh and three virtual sites (tools/make-default-model.sh)

  const std::string data = test::data_dir();
  // IXI013 is the first subject sorted: held out of the model's training (tools/make-default-model.sh).
  const io::Volume in = io::read_volume(data + "/ixi_hh_2mm/t1/IXI013-HH-1212_T1.nii.gz");
  // The model is brain-only: harmonized with the subject's brain mask (its IXI labels), as in training.
  const std::string labels = data + "/ixi_hh_2mm/labels/IXI013-HH-1212_T1_DLMUSE.nii.gz";
  const io::Mask brain = io::read_label_mask(in, labels);
  const tools::TargetCode target = tools::target_from_site(models, "ixi_hh");
  tools::HarmonizeOptions o;
  const io::Volume out = tools::harmonize_volume(models, target, in, brain, o,
                                                 io::MaskSpec{io::MaskSpec::Kind::labels, labels}.describe());
  REQUIRE(out.dim == in.dim);
  std::vector<float> wm;
  size_t bad = 0;
  for (size_t i = 0; i < out.data.size(); ++i) {
    bad += !(std::isfinite(out.data[i]) && out.data[i] >= 0 && out.data[i] <= 1);
    if (brain[i]) wm.push_back(out.data[i]);
  }
  REQUIRE(bad == 0);
  // On its own site the output should sit on the model's scale (WM near 0.7, the brightest tissue
  // of the brain: its upper quartile) and follow the input voxel by voxel inside the brain. A model
  // that draws an average head (the spatial-code failure of docs/training.md) correlates far less.
  std::nth_element(wm.begin(), wm.begin() + static_cast<long>(wm.size() * 3 / 4), wm.end());
  const double q75 = wm[wm.size() * 3 / 4];
  const double r = correlation(out.data, in.data, brain);
  INFO("brain upper quartile " << q75 << ", correlation with the input in the brain " << r);
  CHECK((q75 > 0.6 && q75 < 0.85));
  CHECK(r > 0.6);
}
