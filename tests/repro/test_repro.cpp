// The reproducibility run at a small size on the CPU: a tiny model trained in-process on the real
// IXI-HH site plus one virtual site, then imunity-repro's pipeline on held-out subjects. Checks the
// outputs and properties that hold whatever the model quality; never that ImUnity wins.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "io/error.h"
#include "io/n4.h"
#include "io/nifti.h"
#include "io/nifti_name.h"
#include "io/simulate.h"
#include "model/imunity.h"
#include "model/inference.h"
#include "support/paths.h"
#include "tools/common/checkpoint.h"
#include "tools/harmonize/harmonize.h"
#include "tools/repro/repro.h"
#include "tools/train/train_run.h"

namespace fs = std::filesystem;
using namespace im;

namespace {

constexpr int kTest = 3;   // held-out travelling subjects (the reference image is the next one)
constexpr int kTrain = 4;  // training subjects after those, each at ixi_hh and at low_contrast

std::vector<std::string> ixi_t1(const std::string& data) {
  std::vector<std::string> t1;
  for (const auto& e : fs::directory_iterator(fs::path(data) / "ixi_hh_2mm" / "t1")) t1.push_back(e.path().string());
  std::sort(t1.begin(), t1.end());
  return t1;
}

std::string stem(const std::string& p) { return io::nifti_stem(p); }

// A whole-head training manifest (no mask column: automatic masks, as the shipped model) of the
// real IXI-HH images and their low_contrast versions, for subjects kTest + 1 .. kTest + kTrain.
std::string training_manifest(const std::string& data, const std::string& dir) {
  const std::vector<std::string> t1 = ixi_t1(data);
  const io::Site site = io::read_sites((fs::path(IMUNITY_SOURCE_DIR) / "docs" / "sites" / "low_contrast.json").string()).at(0);
  fs::create_directories(fs::path(dir) / "low_contrast");
  std::string rows = "path\tsite\n";
  for (int i = kTest + 1; i <= kTest + kTrain; ++i) {
    const std::string s = stem(t1[i]);
    const io::Volume v = io::read_volume(t1[i]);
    const io::Mask brain = io::read_label_mask(v, (fs::path(data) / "ixi_hh_2mm" / "labels" / (s + "_DLMUSE.nii.gz")).string());
    const std::string out = (fs::path(dir) / "low_contrast" / (s + ".nii.gz")).string();
    io::write_volume(out, io::simulate_site(v, brain, site, 2026, s));
    rows += t1[i] + "\tixi_hh\n" + out + "\tlow_contrast\n";
  }
  const std::string path = (fs::path(dir) / "train.tsv").string();
  std::ofstream(path) << rows;
  return path;
}

double at(const nlohmann::json& subject, const std::string& source, const std::string& method, const std::string& what) {
  const nlohmann::json& v = subject["results"][source][method][what];
  return v.is_null() ? std::nan("") : v.get<double>();
}

// Without ITK the run refuses at once (its N4 baseline is unavailable); true when that is the case.
bool refused_without_itk(const std::string& data) {
  if (io::n4_available()) return false;
  tools::ReproOptions o;
  o.data = data;
  CHECK_THROWS_WITH(tools::run_repro(o), Catch::Contains("no ITK"));
  WARN("skipped: this build has no ITK; imunity-repro refuses, as it should (its N4 + histogram matching baseline)");
  return true;
}

}  // namespace

TEST_CASE("repro: a tiny model trained in-process, then the whole run on held-out subjects") {
  const std::string data = test::data_dir();
  if (refused_without_itk(data)) return;
  const std::string dir = test::scratch_dir("repro_small");
  tools::TrainRunOptions t;
  t.manifest = training_manifest(data, dir + "/train");
  t.out_dir = dir + "/run";
  t.quiet = true;
  // 4 mm voxels (64x64 slices) and the authors' learning rate keep training to about a minute.
  t.setup = tools::assemble_setup("", "paper", {"model.image_h=64", "model.image_w=64", "train.voxel_size=4",
                                                "train.batch=8", "train.steps=150", "train.lr=0.001",
                                                "train.log_every=50", "train.validate_every=75",
                                                "train.validation_batches=2", "train.code_slices=16",
                                                "train.device=\"cpu\""});
  REQUIRE(tools::run_training(t) == 0);

  tools::ReproOptions o;
  o.model = dir + "/run/model.safetensors";
  o.data = data;
  o.out = dir + "/out";
  o.subjects = kTest;
  o.seen = {"low_contrast"};
  o.unseen = {"noisy"};
  o.training_manifest = t.manifest;
  o.device = "cpu";
  o.cv.repeats = 2;
  o.quiet = true;
  const tools::ReproResults r = tools::run_repro(o);
  tools::write_repro_outputs(r);

  // The outputs exist and agree with each other.
  REQUIRE(fs::exists(o.out + "/table.md"));
  REQUIRE(fs::exists(o.out + "/results.json"));
  CHECK(fs::file_size(o.out + "/mosaic.png") > 1000);
  std::ifstream in(o.out + "/results.json");
  const nlohmann::json j = nlohmann::json::parse(in);
  const std::string md = tools::repro_markdown(r);
  CHECK(md.find("low_contrast → ixi_hh (seen)") != std::string::npos);
  CHECK(md.find("noisy → ixi_hh (unseen)") != std::string::npos);
  CHECK(md.find("all unseen → ixi_hh") != std::string::npos);
  CHECK(md.find("0.871 ± 0.045") != std::string::npos);  // the published numbers beside ours
  CHECK(md.find("Histogram matching") != std::string::npos);
  CHECK(md.find("N4 + histogram matching") != std::string::npos);
  CHECK(md.find("K1 0.01") != std::string::npos);        // the SSIM convention is stated
  CHECK(md.find("checked: none of the 3 test subjects") != std::string::npos);
  CHECK((md.find("(site code) **beats** Histogram matching") != std::string::npos ||
         md.find("(site code) **does not beat** Histogram matching") != std::string::npos));
  REQUIRE(j["subjects"].size() == kTest);
  REQUIRE(j["sources"].size() == 3);
  CHECK(j["sources"][1]["in_checkpoint"] == true);   // low_contrast was trained on
  CHECK(j["sources"][2]["in_checkpoint"] == false);  // noisy was not
  CHECK(j["reference_image"].get<std::string>() == ixi_t1(data)[kTest]);
  CHECK(j["table"].size() == 5);  // 2 sites, all seen, all unseen, the check

  // Every number of every method is finite and in range.
  const std::vector<std::string> methods = {"none",         "wm_peak",      "white_stripe", "histogram_matching", "n4_histogram_matching",
                                            "imunity_site", "imunity_image"};
  const std::vector<std::string> sources = {"ixi_hh", "low_contrast", "noisy"};
  for (const auto& s : j["subjects"])
    for (const std::string& src : sources)
      for (const std::string& m : methods) {
        INFO(s["key"] << " " << src << " " << m);
        const double ssim = at(s, src, m, "ssim");
        CHECK(std::isfinite(ssim));
        CHECK(ssim > (m.rfind("imunity", 0) == 0 ? -1.0 : 0.0));  // a tiny model's output may be anything
        CHECK(ssim <= 1.0 + 1e-12);
        CHECK(at(s, src, m, "mae") >= 0.0);
        CHECK(at(s, src, m, "mae") <= 1.0);
        CHECK(std::isfinite(at(s, src, m, "w1_reference")));
      }

  for (const auto& s : j["subjects"]) {
    INFO(s["key"]);
    // The reference through WM-peak normalization is the ground truth itself, so its SSIM is 1:
    // normalization undoes the scanner's global scale, rescaling to [0,1] alone does not.
    CHECK(at(s, "ixi_hh", "wm_peak", "ssim") == Approx(1.0).margin(1e-12));
    CHECK(at(s, "ixi_hh", "wm_peak", "mae") == Approx(0.0).margin(1e-12));
    CHECK(at(s, "ixi_hh", "none", "ssim") < 0.9999);
    // Histogram matching brings the intensity distribution to the reference image's.
    for (const std::string& src : sources) {
      INFO(src);
      CHECK(at(s, src, "histogram_matching", "w1_reference") < at(s, src, "wm_peak", "w1_reference"));
      CHECK(at(s, src, "histogram_matching", "w1_reference") < 0.01);
    }
  }

  // Site classification ran on all 3 sources x 3 subjects for every method, chance printed.
  REQUIRE(j["site_classification"]["run"] == true);
  CHECK(j["site_classification"]["chance"]["uniform"].get<double>() == Approx(1.0 / 3));
  for (const std::string& m : methods) {
    const auto& c = j["site_classification"]["methods"][m];
    CHECK(c["n"] == 9);
    CHECK(c["accuracy"].get<double>() >= 0.0);
    CHECK(c["accuracy"].get<double>() <= 1.0);
  }
  CHECK(md.find("Chance: 0.333") != std::string::npos);

  // ImUnity's outputs keep the input geometry and are finite, on the [0,1] scale.
  const tools::ModelSet models = tools::load_models(o.model, Device::CPU, false);
  const tools::TargetCode target = tools::target_from_site(models, "ixi_hh");
  const std::vector<std::string> t1 = ixi_t1(data);
  const io::Volume v = io::read_volume(t1[0]);
  const io::Mask brain = io::read_label_mask(v, (fs::path(data) / "ixi_hh_2mm" / "labels" / (stem(t1[0]) + "_DLMUSE.nii.gz")).string());
  const io::Site noisy = io::read_sites(tools::find_site_file("noisy", "")).at(0);
  const io::Volume src = io::simulate_site(v, brain, noisy, 2026, stem(t1[0]));
  const io::Volume out = tools::harmonize_volume(models, target, src, io::auto_mask(src), {});
  CHECK(out.dim == src.dim);
  CHECK(out.affine == src.affine);
  CHECK(std::all_of(out.data.begin(), out.data.end(), [](float x) { return std::isfinite(x) && x >= 0.f && x <= 1.f; }));
  int64_t nonzero_in_brain = 0;
  for (size_t i = 0; i < brain.size(); ++i) nonzero_in_brain += brain[i] && out.data[i] > 0;
  CHECK(nonzero_in_brain > io::mask_count(brain) / 2);
}

TEST_CASE("repro: unknown sites, a model without the reference site and too few subjects are clear errors") {
  const std::string data = test::data_dir();
  if (refused_without_itk(data)) return;
  const std::string dir = test::scratch_dir("repro_errors");
  // A random-weight checkpoint with sites "ixi_hh" and "low_contrast".
  model::ModelConfig mc;
  mc.image_h = mc.image_w = 64;
  mc.encoder_widths = {4, 8, 8, 8, 8};
  mc.anatomy_channels = mc.contrast_channels = 4;
  mc.contrast_dense_width = 8;
  mc.decoder_widths = {8, 8, 8, 8, 4};
  mc.disc_width = 4;
  mc.site_hidden = 8;
  mc.site_names = {"ixi_hh", "low_contrast"};
  model::ImUnity net(mc, Device::CPU, 1);
  tools::CheckpointInfo info;
  info.model = mc;
  info.train.voxel_size = 4;
  info.train.norm = "wm-peak";
  const Tensor x = Tensor::from_vector(std::vector<float>(2 * 64 * 64, 0.5f), {2, 1, 64, 64}, Device::CPU);
  const Tensor code = model::mean_contrast_code(net, x);
  for (int i = 0; i < code.ndim(); ++i) info.code_shape.push_back(code.size(i));
  for (const std::string& s : mc.site_names) info.site_codes[s] = code.to_vector();
  const std::string ckpt = dir + "/random.safetensors";
  tools::save_checkpoint(ckpt, net, info, false);

  tools::ReproOptions o;
  o.model = ckpt;
  o.data = data;
  o.out = dir + "/out";
  o.subjects = 2;
  o.device = "cpu";
  o.seen = {"no_such_site"};
  o.unseen = {};
  CHECK_THROWS_WITH(tools::run_repro(o), Catch::Contains("no_such_site") && Catch::Contains("no site file found"));
  o.seen = {"low_contrast"};
  o.reference = "somewhere_else";
  CHECK_THROWS_WITH(tools::run_repro(o), Catch::Contains("somewhere_else") && Catch::Contains("ixi_hh"));
  o.reference = "ixi_hh";
  o.subjects = 500;
  CHECK_THROWS_WITH(tools::run_repro(o), Catch::Contains("IXI subjects"));
  o.subjects = 3;
  o.reference_subject = 1;
  CHECK_THROWS_WITH(tools::run_repro(o), Catch::Contains("must not be one of the test subjects"));
  o.reference_subject = -1;
  // A training manifest that holds a test subject (here under its virtual-site name) is refused.
  const std::string leaky = dir + "/leaky.tsv";
  std::ofstream(leaky) << "path\tsite\n/somewhere/low_contrast/" << stem(ixi_t1(data)[1]) << ".nii.gz\tlow_contrast\n";
  o.training_manifest = leaky;
  CHECK_THROWS_WITH(tools::run_repro(o), Catch::Contains("was used in training") && Catch::Contains(stem(ixi_t1(data)[1])));
  CHECK_FALSE(fs::exists(o.out));
}
