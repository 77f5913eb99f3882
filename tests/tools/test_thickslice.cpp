// Thick slices: the degradation's arithmetic by hand, detection on a real IXI volume made thick or
// blurred along each axis, restoration by the shipped thick-slice network (closer to the thin truth,
// thin input untouched, nothing outside the mask touched, inserted blobs stay where they are, a
// zeroed half stays empty, the grid guard), weight-file errors, and imunity-thickslice-train and
// imunity-harmonize --thick-slices run as a user would.
#include <catch2/catch.hpp>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "harmonize_test_util.h"
#include "io/error.h"
#include "io/mask.h"
#include "io/nifti.h"
#include "io/normalize.h"
#include "io/rng.h"
#include "support/command.h"
#include "support/paths.h"
#include "tools/common/thickslice.h"
#include "tools/thickslice/thickslice_train.h"

namespace fs = std::filesystem;
using namespace im;
using namespace im::tools;

namespace {

// The held-out subject IXI013 (never in any training split) and its brain mask.
struct Subject {
  io::Volume v;
  io::Mask mask;
  double p90 = 1;
};
const Subject& ixi013() {
  static const Subject s = [] {
    Subject r;
    const std::string t1 = test::data_path("ixi_hh_2mm/t1/IXI013-HH-1212_T1.nii.gz");
    r.v = io::read_volume(t1);
    r.mask = io::read_label_mask(r.v, test::data_path("ixi_hh_2mm/labels/IXI013-HH-1212_T1_DLMUSE.nii.gz"));
    std::vector<float> b;
    for (size_t i = 0; i < r.mask.size(); ++i)
      if (r.mask[i]) b.push_back(r.v.data[i]);
    r.p90 = io::percentile(b, 90);
    return r;
  }();
  return s;
}

// Every line along `axis` through thick_slice_rows (or blur_rows when sigma > 0), then Gaussian
// noise of `noise` x the brain's 90th percentile.
io::Volume degrade(const Subject& s, int axis, int factor, double sigma, double noise, uint64_t seed = 1) {
  io::Volume v = s.v;
  degrade_volume_axis(v, axis, factor, sigma);
  io::Rng rng(seed);
  if (noise > 0)
    for (float& x : v.data) x += static_cast<float>(noise * s.p90 * rng.normal());
  return v;
}


ThickSliceOptions mode(ThickSliceMode m) {
  ThickSliceOptions o;
  o.mode = m;
  return o;
}

}  // namespace

TEST_CASE("thickslice rows: block means re-interpolated between the block centres, worked by hand") {
  std::vector<float> row = {0, 0, 0, 3, 3, 3};
  thick_slice_rows(row, 1, 6, 3, 0);  // blocks {0,0,0} {3,3,3}, centres 1 and 4
  CHECK(row == std::vector<float>{0, 0, 1, 2, 3, 3});
  std::vector<float> ramp = {0, 2, 4, 6, 8};
  thick_slice_rows(ramp, 1, 5, 2, 1);  // phase 1: blocks {0} {2,4} {6,8}, centres 0, 1.5, 3.5
  CHECK(ramp[0] == Approx(0));
  CHECK(ramp[1] == Approx(2));  // 0 + (1 / 1.5) x 3
  CHECK(ramp[2] == Approx(4));  // 3 + 0.25 x 4
  CHECK(ramp[3] == Approx(6));
  CHECK(ramp[4] == Approx(7));  // past the last centre: the last block's mean
  std::vector<float> same = {1, 5, 2};
  thick_slice_rows(same, 1, 3, 1, 0);
  CHECK(same == std::vector<float>{1, 5, 2});
  // Two rows, each on its own: blocks {0,0} {3,3} with centres 0.5 and 2.5, then a constant row.
  std::vector<float> two = {0, 0, 3, 3, 6, 6, 6, 6};
  thick_slice_rows(two, 2, 4, 2, 0);
  CHECK(two == std::vector<float>{0, 0.75f, 2.25f, 3, 6, 6, 6, 6});
}

TEST_CASE("thickslice rows: a Gaussian blur keeps a constant and spreads a spike by the normal density") {
  std::vector<float> flat(21, 2.f);
  blur_rows(flat, 1, 21, 1.0);
  for (float x : flat) CHECK(x == Approx(2.f));
  std::vector<float> spike(21, 0.f);
  spike[10] = 1;
  blur_rows(spike, 1, 21, 1.0);
  // Kernel exp(-i^2 / 2) on -3..3, normalized: 1 / (1 + 2 (e^-0.5 + e^-2 + e^-4.5)).
  CHECK(spike[10] == Approx(1 / (1 + 2 * (std::exp(-0.5) + std::exp(-2.0) + std::exp(-4.5)))).epsilon(1e-5));
  CHECK(spike[11] == Approx(spike[10] * std::exp(-0.5)).epsilon(1e-5));
  CHECK(spike[14] == 0.f);
}

TEST_CASE("thickslice detection: a thin real volume has no thick axis, thick or blurred ones are found") {
  const Subject& s = ixi013();
  const ThickSliceDetection thin = detect_thick_slices(s.v, s.mask);
  CHECK(thin.measured);
  CHECK(thin.axis == -1);
  // IXI's axis i is the smoothest of a real thin scan (0.70-0.83 over held-out subjects, noise
  // taken out; IXI013 0.78), and the noise estimate is positive.
  CHECK(thin.ratio[0] > 0.7);
  CHECK(thin.ratio[0] < 0.9);
  for (double r : thin.ratio) CHECK(r < 1.4);
  CHECK(thin.noise_sigma > 0);
  // 6 mm slices along k, 4 mm noisy along i, a 5 mm FWHM blur along j.
  const ThickSliceDetection k3 = detect_thick_slices(degrade(s, 2, 3, 0, 0.015), s.mask);
  CHECK(k3.axis == 2);
  CHECK(k3.ratio[2] < 0.6);
  const ThickSliceDetection i2 = detect_thick_slices(degrade(s, 0, 2, 0, 0.045), s.mask);
  CHECK(i2.axis == 0);
  const ThickSliceDetection j_blur = detect_thick_slices(degrade(s, 1, 1, 5.0 / 2.3548 / 2.0, 0.03), s.mask);
  CHECK(j_blur.axis == 1);
  // A quarter zeroed inside the mask (missing data): its edge is not anatomy, still thin.
  io::Volume cut = s.v;
  for (size_t i = cut.data.size() * 3 / 4; i < cut.data.size(); ++i) cut.data[i] = 0;
  CHECK(detect_thick_slices(cut, s.mask).axis == -1);
  // 4 mm slices under heavy noise (8%): the noise is taken out of the measure, so they are found
  // (without that they measured 0.82-0.86, as thin as a thin scan).
  const ThickSliceDetection k2_noisy = detect_thick_slices(degrade(s, 2, 2, 0, 0.08), s.mask);
  CHECK(k2_noisy.axis == 2);
  CHECK(k2_noisy.ratio[2] < 0.62);
  // Heavy noise alone is isotropic: nothing detected.
  CHECK(detect_thick_slices(degrade(s, 2, 1, 0, 0.08), s.mask).axis == -1);
  // A mask too small to measure.
  io::Mask tiny(s.mask.size(), 0);
  tiny[s.mask.size() / 2] = 1;
  const ThickSliceDetection none = detect_thick_slices(s.v, tiny);
  CHECK_FALSE(none.measured);
  CHECK(none.axis == -1);
  CHECK_THROWS_AS(detect_thick_slices(s.v, io::Mask(10, 1)), io::Error);
}

TEST_CASE("thickslice restoration: 6 mm slices come closer to the thin truth, only inside the mask") {
  const Subject& s = ixi013();
  const io::Volume thick = degrade(s, 2, 3, 0, 0.015);
  io::Volume v = thick;
  const ThickSliceResult r = restore_thick_slices(v, s.mask, mode(ThickSliceMode::automatic));
  CHECK(r.restored);
  CHECK(r.detection.axis == 2);
  CHECK(r.reason.find("detected along axis k") != std::string::npos);
  CHECK(r.model_sha256.size() == 64);
  const double before = brain_l1(thick, s.v, s.mask), after = brain_l1(v, s.v, s.mask);
  INFO("brain L1 to the thin volume: " << before << " -> " << after);
  CHECK(after < 0.92 * before);
  for (size_t i = 0; i < v.data.size(); ++i)
    if (!s.mask[i] && v.data[i] != thick.data[i]) FAIL("voxel " << i << " outside the mask changed");
  const nlohmann::json j = r.to_json();
  CHECK(j["restored"] == true);
  CHECK(j["detection"]["axis"] == "k");
}

TEST_CASE("thickslice restoration: a thin input is left bit for bit, off does nothing at all") {
  const Subject& s = ixi013();
  io::Volume v = s.v;
  const ThickSliceResult r = restore_thick_slices(v, s.mask, mode(ThickSliceMode::automatic));
  CHECK_FALSE(r.restored);
  CHECK(r.reason.find("no thick slices detected") != std::string::npos);
  const bool untouched = v.data == s.v.data;  // (not inside CHECK: Catch would print 1.3 M values)
  CHECK(untouched);
  io::Volume t = degrade(s, 2, 3, 0, 0);
  const io::Volume before = t;
  const ThickSliceResult off = restore_thick_slices(t, s.mask, mode(ThickSliceMode::off));
  CHECK_FALSE(off.restored);
  const bool off_untouched = t.data == before.data;
  CHECK(off_untouched);
  CHECK_FALSE(off.to_json().contains("detection"));
}

TEST_CASE("thickslice restoration: an inserted bright and dark blob stay in place, no structure appears elsewhere") {
  const Subject& s = ixi013();
  const io::Dims& d = s.v.dim;
  // Two 3 x 3 x 3 blobs inside the brain, in the thin volume, then both volumes made thick.
  std::vector<std::array<int64_t, 3>> centres;
  for (size_t i = 0; i < s.mask.size() && centres.size() < 2; i += 997) {
    const int64_t x = int64_t(i) % d[0], y = (int64_t(i) / d[0]) % d[1], z = int64_t(i) / (d[0] * d[1]);
    bool inside = x > 5 && y > 5 && z > 5 && x < d[0] - 6 && y < d[1] - 6 && z < d[2] - 6;
    for (int64_t dz = -4; inside && dz <= 4; ++dz)
      for (int64_t dy = -4; inside && dy <= 4; ++dy)
        for (int64_t dx = -4; inside && dx <= 4; ++dx) inside = s.mask[(x + dx) + d[0] * ((y + dy) + d[1] * (z + dz))];
    if (inside && (centres.empty() || std::abs(centres[0][2] - z) + std::abs(centres[0][0] - x) > 20)) centres.push_back({x, y, z});
  }
  REQUIRE(centres.size() == 2);
  Subject with = s;
  for (int b = 0; b < 2; ++b)
    for (int64_t dz = -1; dz <= 1; ++dz)
      for (int64_t dy = -1; dy <= 1; ++dy)
        for (int64_t dx = -1; dx <= 1; ++dx)
          with.v.data[(centres[b][0] + dx) + d[0] * ((centres[b][1] + dy) + d[1] * (centres[b][2] + dz))] =
              static_cast<float>(b == 0 ? 1.4 * s.p90 : 0.1 * s.p90);
  io::Volume a = degrade(with, 2, 3, 0, 0), plain = degrade(s, 2, 3, 0, 0);
  const io::Volume a_thick = a, plain_thick = plain;
  REQUIRE(restore_thick_slices(a, s.mask, mode(ThickSliceMode::on)).restored);
  REQUIRE(restore_thick_slices(plain, s.mask, mode(ThickSliceMode::on)).restored);
  // What the blobs change after restoration. Beyond the network's reach (7 layers of 3 x 3: 7
  // voxels in each plane, plus the thick slices' own spread of 2 along k) nothing but rounding
  // (the blobs move the brain's 90th percentile, the network's intensity scale, a little: 2e-4 of
  // it measured); within it, most of the change sits on the blobs (2 voxels around, 3 along k).
  double core = 0, total = 0, outside = 0;
  for (int64_t z = 0; z < d[2]; ++z)
    for (int64_t y = 0; y < d[1]; ++y)
      for (int64_t x = 0; x < d[0]; ++x) {
        const int64_t i = x + d[0] * (y + d[1] * z);
        const double diff = std::abs(double(a.data[i]) - double(plain.data[i]));
        bool in_core = false, in_reach = false;
        for (const auto& c : centres) {
          in_core |= std::abs(x - c[0]) <= 2 && std::abs(y - c[1]) <= 2 && std::abs(z - c[2]) <= 3;
          in_reach |= std::abs(x - c[0]) <= 8 && std::abs(y - c[1]) <= 8 && std::abs(z - c[2]) <= 10;
        }
        total += diff;
        if (in_core) core += diff;
        if (!in_reach) outside = std::max(outside, diff);
      }
  INFO("blob difference: on the blobs " << core << " of " << total << ", largest beyond the network's reach " << outside);
  CHECK(outside <= 1e-3 * s.p90);
  CHECK(core > 0.6 * total);
  // In place and with their sign: the bright blob's centre is brighter than without it, the dark
  // one's darker, by more than the thick slices alone left.
  for (int b = 0; b < 2; ++b) {
    const int64_t i = centres[b][0] + d[0] * (centres[b][1] + d[1] * centres[b][2]);
    const double restored = a.data[i] - plain.data[i], thick = a_thick.data[i] - plain_thick.data[i];
    INFO("blob " << b << ": thick " << thick << ", restored " << restored);
    if (b == 0) CHECK(restored > 0.9 * thick);
    else CHECK(restored < 0.9 * thick);
    CHECK(thick * (b == 0 ? 1 : -1) > 0);
  }
}

TEST_CASE("thickslice restoration: a zeroed half stays empty") {
  const Subject& s = ixi013();
  const int64_t plane = s.v.dim[0] * s.v.dim[1], top = s.v.dim[2] / 2, n = static_cast<int64_t>(s.v.data.size());
  // A thick volume whose top half is then zeroed: it stays exactly 0, with the brain mask (which
  // stops there) and with a mask that covers it too (a voxel at 0 holds no signal and stays 0).
  // The network itself paints almost nothing into an empty region: restored without that rule
  // (the zeroed half at a tiny positive value), under 1% of the brain's 90th percentile.
  io::Volume thick = degrade(s, 2, 3, 0, 0);
  io::Mask brain = s.mask, box(s.mask.size(), 1);
  for (int64_t i = top * plane; i < n; ++i) thick.data[i] = 0, brain[i] = 0;
  for (const io::Mask* m : {&brain, &box}) {
    io::Volume v = thick;
    REQUIRE(restore_thick_slices(v, *m, mode(ThickSliceMode::on)).restored);
    for (int64_t i = top * plane; i < n; ++i)
      if (v.data[i] != 0.f) FAIL("voxel " << i << " of the zeroed half is " << v.data[i]);
  }
  io::Volume v = thick;
  for (int64_t i = top * plane; i < n; ++i) v.data[i] = 1e-6f;
  REQUIRE(restore_thick_slices(v, box, mode(ThickSliceMode::on)).restored);
  float worst = 0;
  for (int64_t i = (top + 2) * plane; i < n; ++i) worst = std::max(worst, std::abs(v.data[i]));
  INFO("largest value in the near-empty half, 2 slices from its edge on: " << worst << " (brain p90 " << s.p90 << ")");
  CHECK(worst < 0.01 * s.p90);
}

TEST_CASE("thickslice restoration: auto refuses a grid far from the network's, on forces it") {
  const Subject& s = ixi013();
  io::Volume v = degrade(s, 2, 3, 0, 0.015);
  for (int r = 0; r < 3; ++r)
    for (int c = 0; c < 3; ++c) v.affine[r * 4 + c] *= 0.5;  // the same voxels called 1 mm
  const io::Volume before = v;
  const ThickSliceResult a = restore_thick_slices(v, s.mask, mode(ThickSliceMode::automatic));
  CHECK(a.detection.axis == 2);
  CHECK_FALSE(a.restored);
  CHECK(a.reason.find("trained on") != std::string::npos);
  const bool refused_untouched = v.data == before.data;
  CHECK(refused_untouched);
  CHECK(restore_thick_slices(v, s.mask, mode(ThickSliceMode::on)).restored);
  const bool forced_changed = v.data != before.data;
  CHECK(forced_changed);
  CHECK_THROWS_AS(parse_thick_slice_mode("yes"), io::Error);
}

TEST_CASE("thickslice weights: a missing file or one of another kind is refused naming the file") {
  try {
    load_thick_slice_model("/nonexistent/thickslice.safetensors");
    FAIL("expected an error");
  } catch (const io::Error& e) {
    CHECK(std::string(e.what()).find("/nonexistent/thickslice.safetensors") != std::string::npos);
  }
  const std::string other = std::string(IMUNITY_SOURCE_DIR) + "/model/weights/brainmask-2mm.safetensors";
  try {
    load_thick_slice_model(other);
    FAIL("expected an error");
  } catch (const io::Error& e) {
    CHECK(std::string(e.what()).find("unsupported thick-slice file format") != std::string::npos);
  }
  // A saved network loads back with the same weights.
  const std::string dir = test::scratch_dir("thickslice_weights");
  model::ThickSliceConfig c;
  c.channels = 4;
  c.layers = 3;
  model::ThickSliceNet net(c, Device::CPU, 5);
  save_thick_slice_model(dir + "/w.safetensors", net, {{"note", "test"}});
  auto back = load_thick_slice_model(dir + "/w.safetensors");
  CHECK(back->training["note"] == "test");
  CHECK(back->net->params.params().to_vector() == net.params.params().to_vector());
}

TEST_CASE("imunity-thickslice-train: a short run writes weights that restoration loads, and records its data") {
  const std::string exe = test::tool_path("imunity-thickslice-train");
  if (exe.empty()) FAIL("imunity-thickslice-train is not built: " + std::string(IMUNITY_BINARY_DIR) + "/tools/imunity-thickslice-train");
  const std::string out = test::scratch_dir("thickslice_train");
  // 138 subjects: 130 held out, 2 validation, 6 training (a quick run).
  const auto r = test::run_program(exe, {"--data", test::data_path("ixi_hh_2mm"), "--out", out, "--test", "130", "--validation", "2",
                                         "--steps", "6", "--batch", "2", "--patch", "24", "--channels", "4", "--layers", "3",
                                         "--validate-every", "3", "--quiet", "--threads", "2"});
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  CHECK(r.output.find("6 training") != std::string::npos);
  auto m = load_thick_slice_model(out + "/thickslice.safetensors");
  CHECK(m->net->config().channels == 4);
  CHECK(m->training["training_subjects"] == 6);
  CHECK(m->training["validation"].size() >= 1);
  CHECK(m->training["command"].get<std::string>().find(out) == std::string::npos);  // no path of this machine
  // A second run into the same folder is refused (no resume).
  const auto again = test::run_program(exe, {"--data", test::data_path("ixi_hh_2mm"), "--out", out, "--test", "130", "--validation",
                                             "2", "--steps", "1", "--quiet"});
  CHECK(again.exit_code == 2);
  CHECK(again.output.find("exists") != std::string::npos);
}

TEST_CASE("imunity-harmonize: a thick-slice input is restored first and says so in its sidecar, off leaves it") {
  const std::string exe = test::tool_path("imunity-harmonize");
  if (exe.empty()) FAIL("imunity-harmonize is not built: " + std::string(IMUNITY_BINARY_DIR) + "/tools/imunity-harmonize");
  const std::string dir = test::scratch_dir("thickslice_harmonize");
  io::write_volume(dir + "/thick.nii.gz", degrade(ixi013(), 2, 3, 0, 0.015));
  const std::string model = std::string(IMUNITY_SOURCE_DIR) + "/model/weights/imunity-default-2mm.safetensors";
  const std::string labels = test::data_path("ixi_hh_2mm/labels/IXI013-HH-1212_T1_DLMUSE.nii.gz");
  auto run = [&](const std::string& out, const std::string& mode) {
    const auto r = test::run_program(exe, {"--model", model, "--in", dir + "/thick.nii.gz", "--out-dir", dir + "/" + out, "--target-site",
                                           "ixi_hh", "--labels", labels, "--thick-slices", mode, "--quiet", "--threads", "2"});
    INFO(r.output);
    REQUIRE(r.exit_code == 0);
    std::ifstream f(dir + "/" + out + "/thick_desc-harmonized_T1w.json");
    REQUIRE(f.good());
    return nlohmann::json::parse(f);
  };
  const nlohmann::json on = run("auto", "auto"), off = run("off", "off");
  CHECK(on["thick_slices"]["restored"] == true);
  CHECK(on["thick_slices"]["detection"]["axis"] == "k");
  CHECK(on["timings_ms"].contains("thick_slices"));
  CHECK(on["options"]["thick_slices"] == "auto");
  CHECK(off["thick_slices"]["restored"] == false);
  CHECK(off["thick_slices"]["reason"] == "off");
  CHECK_FALSE(off["timings_ms"].contains("thick_slices"));
  // The two outputs differ inside the brain only (outside: 0 in both).
  const io::Volume a = io::read_volume(dir + "/auto/thick_desc-harmonized_T1w.nii.gz");
  const io::Volume b = io::read_volume(dir + "/off/thick_desc-harmonized_T1w.nii.gz");
  REQUIRE(a.data.size() == b.data.size());
  int64_t differ = 0;
  for (size_t i = 0; i < a.data.size(); ++i) {
    if (!ixi013().mask[i] && (a.data[i] != 0.f || b.data[i] != 0.f)) FAIL("voxel " << i << " outside the brain is not 0");
    differ += a.data[i] != b.data[i];
  }
  CHECK(differ > 10000);
}
