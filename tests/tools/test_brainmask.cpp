// Brain extraction without the trained weights: the post-processing on synthetic probability maps,
// slice windows, weight files, the pipeline's geometry, and imunity-brainmask as a user runs it
// (errors, geometry kept, batches with a bad input, atomic outputs, --overwrite, shards).
#include <catch2/catch.hpp>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <random>
#include <set>
#include <nlohmann/json.hpp>

#include "harmonize_test_util.h"
#include "io/error.h"
#include "io/nifti.h"
#include "support/paths.h"
#include "tools/common/brain_mask.h"

namespace fs = std::filesystem;
using namespace im;

namespace {

// A small network whose output ignores its input: every voxel brain (bias +10) or none (-10).
std::string constant_model(const std::string& dir, const std::string& file, float bias) {
  model::BrainMaskConfig c;
  c.widths = {2, 4};
  c.voxel_mm = 4;
  model::BrainMaskNet net(c, Device::CPU, 1);
  for (auto& [name, t] : net.state())
    if (name == "out.weight") t.fill_(0.f);
    else if (name == "out.bias") t.fill_(bias);
  const std::string path = (fs::path(dir) / file).string();
  tools::save_brain_mask_model(path, net, {{"note", "test model"}});
  return path;
}

// A probability map: a ball (radius r around c) with a cavity, and a small separate blob.
std::vector<float> ball_with_hole_and_blob(const io::Dims& d) {
  std::vector<float> p(static_cast<size_t>(d[0] * d[1] * d[2]), 0.1f);
  for (int64_t z = 0; z < d[2]; ++z)
    for (int64_t y = 0; y < d[1]; ++y)
      for (int64_t x = 0; x < d[0]; ++x) {
        const double r = std::sqrt(std::pow(x - 14.0, 2) + std::pow(y - 15.0, 2) + std::pow(z - 12.0, 2));
        float& v = p[x + d[0] * (y + d[1] * z)];
        if (r < 9) v = r < 3 ? 0.2f : 0.9f;                 // the cavity is below the threshold
        if (std::abs(x - 27.0) < 2 && std::abs(y - 4.0) < 2 && std::abs(z - 4.0) < 2) v = 0.8f;  // a blob
      }
  return p;
}

int64_t count(const io::Mask& m) { return io::mask_count(m); }

std::string brainmask_tool() {
  const std::string t = test::tool_path("imunity-brainmask");
  if (t.empty()) FAIL("imunity-brainmask is not built: " + std::string(IMUNITY_BINARY_DIR) + "/tools/imunity-brainmask");
  return t;
}

}  // namespace

TEST_CASE("brainmask post-processing: threshold, largest component, holes filled", "[brainmask]") {
  const io::Dims d{32, 30, 26};
  const std::vector<float> p = ball_with_hole_and_blob(d);
  tools::BrainMaskOptions o;
  const io::Mask m = tools::probability_to_mask(p, d, o);
  // The ball, its cavity filled, without the blob.
  int64_t ball = 0, blob = 0;
  for (int64_t z = 0; z < d[2]; ++z)
    for (int64_t y = 0; y < d[1]; ++y)
      for (int64_t x = 0; x < d[0]; ++x) {
        const double r = std::sqrt(std::pow(x - 14.0, 2) + std::pow(y - 15.0, 2) + std::pow(z - 12.0, 2));
        const bool in = m[x + d[0] * (y + d[1] * z)];
        if (r < 9) ball += in;
        else blob += in;
      }
  int64_t expected_ball = 0, cavity = 0;
  for (int64_t z = 0; z < d[2]; ++z)
    for (int64_t y = 0; y < d[1]; ++y)
      for (int64_t x = 0; x < d[0]; ++x) {
        const double r = std::sqrt(std::pow(x - 14.0, 2) + std::pow(y - 15.0, 2) + std::pow(z - 12.0, 2));
        expected_ball += r < 9, cavity += r < 3;
      }
  CHECK(ball == expected_ball);
  CHECK(blob == 0);
  o.largest_component = false, o.fill_holes = false;
  const io::Mask raw = tools::probability_to_mask(p, d, o);
  CHECK(count(raw) == expected_ball - cavity + 27);  // the cavity open, the 3x3x3 blob kept
  o.threshold = 0.95f;
  CHECK_THROWS_AS(tools::probability_to_mask(p, d, o), io::Error);
}

TEST_CASE("brainmask post-processing: the bounding-box shortcut equals the whole-grid operations", "[brainmask]") {
  const io::Dims d{24, 20, 18};
  std::mt19937 g(5);
  for (int trial = 0; trial < 6; ++trial) {
    // Random blobs, some touching the grid's faces, with random speckle holes.
    std::vector<float> p(static_cast<size_t>(d[0] * d[1] * d[2]), 0.f);
    for (int b = 0; b < 5; ++b) {
      const double cx = g() % 24, cy = g() % 20, cz = g() % 18, r = 2 + g() % 6;
      for (int64_t z = 0; z < d[2]; ++z)
        for (int64_t y = 0; y < d[1]; ++y)
          for (int64_t x = 0; x < d[0]; ++x)
            if (std::pow(x - cx, 2) + std::pow(y - cy, 2) + std::pow(z - cz, 2) < r * r) p[x + d[0] * (y + d[1] * z)] = 1.f;
    }
    for (float& v : p)
      if (g() % 9 == 0) v = 0.f;
    tools::BrainMaskOptions o;
    const io::Mask got = tools::probability_to_mask(p, d, o);
    io::Mask want(p.size());
    for (size_t i = 0; i < p.size(); ++i) want[i] = p[i] >= 0.5f;
    io::keep_largest_component(want, d);
    io::fill_holes(want, d);
    CHECK(got == want);
  }
}

TEST_CASE("brainmask input: slice windows repeat the edge slices", "[brainmask]") {
  io::SliceStack s;
  s.n = 4, s.h = 1, s.w = 2;
  s.data = {0, 0, 1, 1, 2, 2, 3, 3};
  std::vector<float> w(10);
  tools::slice_window(s, 0, 2, w.data());
  CHECK(w == std::vector<float>{0, 0, 0, 0, 0, 0, 1, 1, 2, 2});
  tools::slice_window(s, 3, 2, w.data());
  CHECK(w == std::vector<float>{1, 1, 2, 2, 3, 3, 3, 3, 3, 3});
}

TEST_CASE("brainmask weights: round trip, and clear errors for other files", "[brainmask]") {
  const std::string dir = test::scratch_dir("brainmask_weights");
  const std::string path = constant_model(dir, "m.safetensors", 10.f);
  const auto m = tools::load_brain_mask_model(path);
  CHECK(m->net->config().widths == std::vector<int>{2, 4});
  CHECK(m->training["note"] == "test model");
  CHECK(m->sha256.size() == 64);
  // An ImUnity checkpoint or garbage is refused with the file's name.
  std::ofstream(dir + "/bad.safetensors") << "not a safetensors file";
  try {
    tools::load_brain_mask_model(dir + "/bad.safetensors");
    FAIL("expected an error");
  } catch (const io::Error& e) {
    CHECK(std::string(e.what()).find("bad.safetensors") != std::string::npos);
  }
  // A weights-only file cannot be resumed.
  CHECK_THROWS_WITH(tools::load_brain_mask_model(path, Device::CPU, true), Catch::Contains("cannot be resumed"));
}

TEST_CASE("brainmask pipeline: the mask lies on the input's grid, whatever its orientation and voxels", "[brainmask]") {
  const std::string dir = test::scratch_dir("brainmask_pipeline");
  const auto all = tools::load_brain_mask_model(constant_model(dir, "all.safetensors", 10.f));
  const auto none = tools::load_brain_mask_model(constant_model(dir, "none.safetensors", -10.f));
  // LPS-like, anisotropic, not a multiple of anything.
  io::Mat4 a = test::diagonal_affine(-1.2, -0.9, 3.1, 60, 70, -40);
  io::Volume v = io::read_volume(test::write_synthetic(dir, "in.nii.gz", {37, 41, 13}, a));
  const tools::BrainMaskResult r = tools::predict_brain_mask(*all->net, v);
  REQUIRE(r.mask.size() == v.data.size());
  REQUIRE(r.probability.size() == v.data.size());
  // Probability ~1 on the whole network grid: every input voxel well inside it is brain.
  CHECK(count(r.mask) > static_cast<int64_t>(0.8 * static_cast<double>(v.data.size())));
  for (float p : r.probability) REQUIRE((p >= 0.f && p <= 1.f));
  CHECK(r.slices_run > 0);
  CHECK_THROWS_WITH(tools::predict_brain_mask(*none->net, v), Catch::Contains("found no brain"));
}

TEST_CASE("brainmask cli: help, usage errors, geometry and datatypes kept, sidecar", "[brainmask][cli]") {
  const std::string tool = brainmask_tool();
  const std::string dir = test::scratch_dir("brainmask_cli");
  const std::string model = constant_model(dir, "all.safetensors", 10.f);
  auto help = test::run_command(tool + " --help");
  CHECK(help.exit_code == 0);
  CHECK(help.output.find("--in-dir") != std::string::npos);
  CHECK(help.output.find("desc-brain_mask") != std::string::npos);
  auto none = test::run_command(tool + " --out-dir " + dir + "/o");
  CHECK(none.exit_code == 2);
  CHECK(none.output.find("--in") != std::string::npos);
  auto bad_model = test::run_command(tool + " --in x.nii.gz --out-dir " + dir + "/o --model " + dir + "/missing.safetensors");
  CHECK(bad_model.exit_code == 2);

  // An int16 input with an LPS, anisotropic grid.
  io::Volume in = io::read_volume(test::write_synthetic(dir, "sub-01_T1w.nii.gz", {30, 34, 12}, test::diagonal_affine(-1.5, -1.5, 4, 40, 50, -20)));
  in.header.datatype = io::dtype::int16;
  io::WriteOptions wo;
  wo.keep_datatype = true;
  io::write_volume(dir + "/sub-01_T1w.nii.gz", in, wo);
  in = io::read_volume(dir + "/sub-01_T1w.nii.gz");
  const auto r = test::run_command(tool + " --model " + model + " --quiet --threads 2 --brain --in " + dir +
                                   "/sub-01_T1w.nii.gz --out-dir " + dir + "/out");
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  const io::Volume m = io::read_volume(dir + "/out/sub-01_desc-brain_mask.nii.gz");
  const io::Volume b = io::read_volume(dir + "/out/sub-01_desc-brain_T1w.nii.gz");
  for (const io::Volume* o : {&m, &b}) {
    REQUIRE(o->dim == in.dim);
    CHECK(io::max_abs_diff(o->affine, in.affine) < 1e-9);
    CHECK(o->header.qform_code == in.header.qform_code);
    CHECK(o->header.sform_code == in.header.sform_code);
    CHECK(io::axcodes(o->affine) == io::axcodes(in.affine));
  }
  CHECK(m.header.datatype == io::dtype::uint8);
  CHECK(m.header.scl_slope == 1.0);
  CHECK(b.header.datatype == io::dtype::int16);
  size_t inside = 0;
  for (size_t i = 0; i < m.data.size(); ++i) {
    REQUIRE((m.data[i] == 0.f || m.data[i] == 1.f));
    inside += m.data[i] == 1.f;
    CHECK(b.data[i] == (m.data[i] == 1.f ? in.data[i] : 0.f));
  }
  CHECK(inside > 0);
  const nlohmann::json side = nlohmann::json::parse(test::read_text(dir + "/out/sub-01_desc-brain_mask.json"));
  CHECK(side["tool"] == "imunity-brainmask");
  CHECK(side["model"]["sha256"].get<std::string>().size() == 64);
  CHECK(side["brain_volume_ml"].get<double>() == Approx(static_cast<double>(inside) * 1.5 * 1.5 * 4 / 1000));
  CHECK(side.contains("timings_ms"));
}

TEST_CASE("brainmask cli: a bad input fails alone, outputs appear whole, reruns skip, shards partition", "[brainmask][cli]") {
  const std::string tool = brainmask_tool();
  const std::string dir = test::scratch_dir("brainmask_cli_batch");
  const std::string all = constant_model(dir, "all.safetensors", 10.f), none = constant_model(dir, "none.safetensors", -10.f);
  fs::create_directories(dir + "/in");
  for (const char* n : {"a.nii.gz", "b.nii.gz", "c.nii"})
    test::write_synthetic(dir + "/in", n, {20, 22, 10}, test::diagonal_affine(2, 2, 2));
  std::ofstream(dir + "/in/broken.nii.gz") << "this is not a NIfTI file";
  const std::string base = tool + " --quiet --threads 2 --in-dir " + dir + "/in --out-dir " + dir + "/out";
  auto r = test::run_command(base + " --model " + all);
  INFO(r.output);
  CHECK(r.exit_code == 1);
  CHECK(r.output.find("broken.nii.gz") != std::string::npos);
  for (const char* n : {"a", "b", "c"}) {
    CHECK(fs::exists(dir + "/out/" + std::string(n) + "_desc-brain_mask.nii.gz"));
    CHECK(fs::exists(dir + "/out/" + std::string(n) + "_desc-brain_mask.json"));
  }
  CHECK(!fs::exists(dir + "/out/broken_desc-brain_mask.nii.gz"));
  CHECK(test::temp_leftovers(dir + "/out").empty());

  // A rerun skips what exists; a model that finds no brain writes nothing, not half a pair.
  r = test::run_command(base + " --model " + none);
  CHECK(r.output.find("skipped") != std::string::npos);
  r = test::run_command(base + " --model " + none + " --overwrite");
  CHECK(r.exit_code == 1);
  CHECK(r.output.find("found no brain") != std::string::npos);
  CHECK(test::temp_leftovers(dir + "/out").empty());

  // Shards: every input in exactly one of them.
  std::set<std::string> seen;
  for (int s = 0; s < 2; ++s) {
    const std::string out = dir + "/shard" + std::to_string(s);
    test::run_command(tool + " --quiet --threads 2 --model " + all + " --in " + dir + "/in/a.nii.gz " + dir + "/in/b.nii.gz " +
                      dir + "/in/c.nii --out-dir " + out + " --shard " + std::to_string(s) + "/2");
    for (const auto& e : fs::directory_iterator(out))
      if (e.path().string().find("_desc-brain_mask.nii.gz") != std::string::npos) CHECK(seen.insert(e.path().filename().string()).second);
  }
  CHECK(seen.size() == 3);
  CHECK(test::run_command(base + " --model " + all + " --shard 2/2").exit_code == 2);
}
