// imunity-train's run: resume bit for bit, warm start (--init-from), checkpoint validation, SIGINT, NaN stop,
// bad manifests.
#include <catch2/catch.hpp>

#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>

#include "io/error.h"
#include "io/safetensors.h"
#include "model/imunity.h"
#include "model/state.h"
#include "support/command.h"
#include "support/paths.h"
#include "tools/common/checkpoint.h"
#include "tools/train/train_run.h"
#include "train/train_data.h"

namespace fs = std::filesystem;
using namespace im;

namespace {
// A small, fast configuration: 4 mm voxels (a 64x64 axial plane), batch 4.
tools::TrainRunOptions small_run(const std::string& manifest, const std::string& out, int64_t steps) {
  tools::TrainRunOptions o;
  o.manifest = manifest;
  o.out_dir = out;
  o.quiet = true;
  o.setup = tools::assemble_setup("", "paper", {"model.image_h=64", "model.image_w=64", "train.voxel_size=4",
                                                "train.batch=4", "train.log_every=2", "train.checkpoint_every=1000",
                                                "train.validate_every=3", "train.validation_batches=1", "train.code_slices=16",
                                                "train.steps=" + std::to_string(steps), "train.device=\"cpu\""});
  return o;
}

// Runs imunity-train with its output captured; with sigint_at set, sends SIGINT to that process (and
// no other) once it prints a line containing sigint_at.
int run_cli(const std::vector<std::string>& args, std::string* output = nullptr, const std::string& sigint_at = "") {
  const test::CommandResult r =
      test::run_program(std::string(IMUNITY_BINARY_DIR) + "/tools/imunity-train", args, sigint_at.empty() ? 0 : SIGINT, sigint_at);
  if (output) *output = r.output;
  return r.exit_code;
}
}  // namespace

TEST_CASE("train run: N steps straight equal N/2 steps, resume, N/2 steps, bit for bit on the CPU") {
  std::string manifest = test::virtual_site_manifest(4, {"low_contrast.json", "high_contrast_15t.json"});
  std::string dir = test::scratch_dir("train_resume");
  REQUIRE(tools::run_training(small_run(manifest, dir + "/straight", 6)) == 0);
  REQUIRE(tools::run_training(small_run(manifest, dir + "/halves", 3)) == 0);
  tools::TrainRunOptions again = small_run(manifest, dir + "/halves", 6);
  again.resume = true;
  again.overrides = {"train.steps=6"};  // what --steps 6 gives on the command line
  REQUIRE(tools::run_training(again) == 0);
  io::SafeTensors a = io::read_safetensors(dir + "/straight/last.safetensors");
  io::SafeTensors b = io::read_safetensors(dir + "/halves/last.safetensors");
  REQUIRE(a.tensors.size() == b.tensors.size());
  size_t differing = 0;
  for (const io::NamedArray& t : a.tensors) {
    const io::NamedArray* u = b.find(t.name);
    REQUIRE(u);
    if (t.values != u->values) {
      ++differing;
      WARN("differs: " << t.name);
    }
  }
  CHECK(differing == 0);
  tools::CheckpointInfo ia = tools::read_checkpoint_info(dir + "/straight/last.safetensors");
  tools::CheckpointInfo ib = tools::read_checkpoint_info(dir + "/halves/last.safetensors");
  CHECK(ia.step == 6);
  CHECK(ib.step == 6);
  CHECK(ia.rng_offset == ib.rng_offset);

  // Each site's brain intensities, for the detail stage's histogram matching: 201 non-decreasing
  // quantiles in [0, 1]; the low-contrast site's brain spans a narrower range than the 1.5T-like
  // high-contrast site's (the simulator's two contrast curves).
  REQUIRE(ia.extra.contains("site_quantiles"));
  std::map<std::string, double> spread;
  for (const std::string site : {"low_contrast", "high_contrast_15t"}) {
    INFO(site);
    REQUIRE(ia.extra["site_quantiles"].contains(site));
    const std::vector<double> q = ia.extra["site_quantiles"][site].get<std::vector<double>>();
    REQUIRE(q.size() == 201);
    for (size_t k = 0; k < q.size(); ++k) {
      CHECK(q[k] >= 0.0);
      CHECK(q[k] <= 1.0);
      if (k) CHECK(q[k] >= q[k - 1]);
    }
    spread[site] = q[180] - q[20];
  }
  INFO("10-90% spread: low_contrast " << spread["low_contrast"] << ", high_contrast_15t " << spread["high_contrast_15t"]);
  CHECK(spread["low_contrast"] < 0.8 * spread["high_contrast_15t"]);
}

TEST_CASE("train run: a resumed run takes new training fields from --set, never model fields") {
  std::string manifest = test::virtual_site_manifest(4, {"low_contrast.json", "high_contrast_15t.json"});
  std::string dir = test::scratch_dir("train_resume_set");
  REQUIRE(tools::run_training(small_run(manifest, dir + "/run", 3)) == 0);
  tools::TrainRunOptions more = small_run(manifest, dir + "/run", 3);
  more.resume = true;
  more.overrides = {"train.steps=5", "train.anatomy_augment=true", "train.lambda_confusion=20"};
  REQUIRE(tools::run_training(more) == 0);
  const tools::CheckpointInfo info = tools::read_checkpoint_info(dir + "/run/last.safetensors");
  CHECK(info.step == 5);
  CHECK(info.train.anatomy_augment);
  CHECK(info.train.lambda_confusion == 20.f);
  CHECK(info.train.batch == 4);  // the rest is the resumed run's
  // The recipe changed, so the best checkpoint is one of the new recipe's validations (steps 3..5
  // validate every 3 steps: the one at step 3 was the old recipe's, the new best is later).
  CHECK(info.extra.value("best_step", 0) > 3);

  tools::TrainRunOptions bad = small_run(manifest, dir + "/run", 6);
  bad.resume = true;
  bad.overrides = {"model.anatomy_channels=8"};
  CHECK_THROWS_WITH(tools::run_training(bad), Catch::Contains("a resumed run keeps its model"));
  bad.overrides = {"train.no_such_field=1"};
  CHECK_THROWS_WITH(tools::run_training(bad), Catch::Contains("no field \"no_such_field\""));
}

TEST_CASE("train run: --init-from starts a fresh run from the checkpoint's matching tensors, a changed site head afresh") {
  std::string manifest = test::virtual_site_manifest(4, {"low_contrast.json", "high_contrast_15t.json"});
  std::string dir = test::scratch_dir("train_init_from");
  REQUIRE(tools::run_training(small_run(manifest, dir + "/flat", 2)) == 0);
  const std::string ckpt = dir + "/flat/last.safetensors";
  const io::SafeTensors src = io::read_safetensors(ckpt);

  // The same model with the pooled site head: every tensor but the head's first weight comes over.
  model::ModelConfig mc = tools::read_checkpoint_info(ckpt).model;
  mc.site_head_input = "pooled";
  model::ImUnity m(mc, Device::CPU, 99);
  const std::vector<std::string> fresh = tools::init_from_checkpoint(ckpt, m);
  CHECK(fresh == std::vector<std::string>{"site_head.fc1.weight"});
  size_t same = 0;
  for (const model::NamedTensor& nt : model::state_tensors(m, false)) {
    const io::NamedArray* a = src.find(nt.name);
    REQUIRE(a);
    if (nt.name == "site_head.fc1.weight") {
      CHECK(a->values.size() != static_cast<size_t>(nt.tensor.numel()));  // flat input: 64x64 code, not 2 x channels
      continue;
    }
    INFO(nt.name);
    CHECK(nt.tensor.to_vector() == a->values);
    ++same;
  }
  CHECK(same + 1 == model::state_tensors(m, false).size());

  // A whole run from it, and what is not a checkpoint or matches nothing is refused naming the file.
  tools::TrainRunOptions warm = small_run(manifest, dir + "/pooled", 2);
  warm.setup = tools::assemble_setup("", "paper", {"model.image_h=64", "model.image_w=64", "model.site_head_input=\"pooled\"",
                                                   "train.voxel_size=4", "train.batch=4", "train.validate_every=3",
                                                   "train.validation_batches=1", "train.code_slices=16", "train.steps=2",
                                                   "train.device=\"cpu\""});
  warm.init_from = ckpt;
  REQUIRE(tools::run_training(warm) == 0);
  const tools::CheckpointInfo info = tools::read_checkpoint_info(dir + "/pooled/last.safetensors");
  CHECK(info.model.site_head_input == "pooled");
  CHECK(info.extra.value("init_from", std::string()) == ckpt);
  io::SafeTensors other;
  other.tensors.push_back({"x", {2}, {1.f, 2.f}});
  io::write_safetensors(dir + "/other.safetensors", other);
  CHECK_THROWS_WITH(tools::init_from_checkpoint(dir + "/other.safetensors", m), Catch::Contains(dir + "/other.safetensors"));
}

TEST_CASE("train run: a corrupted or truncated checkpoint gives a clear error naming the file") {
  std::string manifest = test::virtual_site_manifest(4, {"low_contrast.json", "high_contrast_15t.json"});
  std::string dir = test::scratch_dir("train_corrupt");
  REQUIRE(tools::run_training(small_run(manifest, dir + "/run", 2)) == 0);
  std::string good = dir + "/run/model.safetensors";
  std::ifstream in(good, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  REQUIRE(bytes.size() > 1000);
  auto expect_error = [&](const std::string& name, const std::string& content, const std::string& needle) {
    std::string p = dir + "/" + name;
    std::ofstream(p, std::ios::binary) << content;
    try {
      tools::load_checkpoint(p, Device::CPU, nullptr, false);
      FAIL("expected an error for " << name);
    } catch (const io::Error& e) {
      std::string msg = e.what();
      INFO(msg);
      CHECK(msg.find(p) != std::string::npos);
      CHECK(msg.find(needle) != std::string::npos);
    }
  };
  expect_error("truncated.safetensors", bytes.substr(0, bytes.size() / 2), "truncated");
  expect_error("tiny.safetensors", bytes.substr(0, 5), "not a safetensors file");
  std::string garbled = bytes;
  for (size_t i = 12; i < 40; ++i) garbled[i] = '#';
  expect_error("garbled.safetensors", garbled, "corrupted");
  expect_error("random.safetensors", std::string(4096, '\x7f'), "header length");
  // A valid safetensors file that is not a checkpoint.
  io::SafeTensors st;
  st.tensors.push_back({"x", {2}, {1.f, 2.f}});
  io::write_safetensors(dir + "/other.safetensors", st);
  try {
    tools::load_checkpoint(dir + "/other.safetensors", Device::CPU, nullptr, false);
    FAIL("expected an error");
  } catch (const io::Error& e) {
    CHECK(std::string(e.what()).find("not an imunity checkpoint") != std::string::npos);
  }
  // An inference checkpoint cannot be resumed.
  CHECK_THROWS_WITH(tools::load_checkpoint(good, Device::CPU, nullptr, true), Catch::Contains("cannot be resumed"));
}

TEST_CASE("train run: SIGINT saves a checkpoint and exits cleanly, and --resume continues it") {
  std::string manifest = test::virtual_site_manifest(4, {"low_contrast.json", "high_contrast_15t.json"});
  std::string dir = test::scratch_dir("train_sigint");
  std::vector<std::string> args = {"--manifest", manifest, "--out", dir + "/run", "--steps", "100000", "--batch", "4",
                                   "--device", "cpu", "--set", "model.image_h=64", "--set", "model.image_w=64",
                                   "--set", "train.voxel_size=4", "--set", "train.log_every=1", "--quiet"};
  std::string out;
  // Interrupt once the data is ready and training starts (the line announcing the parameter count).
  int code = run_cli(args, &out, "parameters;");
  INFO(out);
  CHECK(code == 130);
  CHECK(out.find("interrupted at step") != std::string::npos);
  REQUIRE(fs::exists(dir + "/run/last.safetensors"));
  tools::CheckpointInfo info = tools::read_checkpoint_info(dir + "/run/last.safetensors");
  CHECK(info.step < 100000);
  // No temporary files are left behind.
  for (const auto& e : fs::directory_iterator(dir + "/run")) CHECK(e.path().filename().string().find(".tmp") == std::string::npos);
  std::vector<std::string> more = args;
  more[5] = std::to_string(info.step + 2);
  more.push_back("--resume");
  CHECK(run_cli(more, &out) == 0);
  CHECK(tools::read_checkpoint_info(dir + "/run/last.safetensors").step == info.step + 2);
}

TEST_CASE("train run: a NaN loss stops training with a clear message and keeps the last good checkpoint") {
  std::string manifest = test::virtual_site_manifest(4, {"low_contrast.json", "high_contrast_15t.json"});
  std::string dir = test::scratch_dir("train_nan");
  std::string out;
  // A far too high learning rate makes this seeded CPU run diverge at step 2, after a good step 1.
  int code = run_cli({"--manifest", manifest, "--out", dir + "/run", "--steps", "60", "--batch", "4", "--device", "cpu",
                      "--lr", "0.05", "--set", "model.image_h=64", "--set", "model.image_w=64", "--set",
                      "train.voxel_size=4", "--set", "train.log_every=1", "--set", "train.checkpoint_every=1", "--quiet"},
                     &out);
  INFO(out);
  CHECK(code == 3);
  CHECK(out.find("NaN or Inf") != std::string::npos);
  REQUIRE(fs::exists(dir + "/run/last.safetensors"));
  CHECK_NOTHROW(tools::load_checkpoint(dir + "/run/last.safetensors", Device::CPU, nullptr, true));
}

TEST_CASE("train run: bad manifests and configs are refused with the file and the problem") {
  std::string dir = test::scratch_dir("train_bad");
  auto write = [&](const std::string& name, const std::string& text) {
    std::ofstream(dir + "/" + name) << text;
    return dir + "/" + name;
  };
  std::string out;
  CHECK(run_cli({"--manifest", write("nosite.tsv", "path\tmask\na.nii.gz\tb.nii.gz\n"), "--out", dir + "/r1"}, &out) == 2);
  CHECK(out.find("nosite.tsv") != std::string::npos);
  CHECK(out.find("\"site\" column") != std::string::npos);
  CHECK(run_cli({"--manifest", write("missing.tsv", "path\tsite\nnope.nii.gz\tA\n"), "--out", dir + "/r2"}, &out) == 2);
  CHECK(out.find("line 2: no such file") != std::string::npos);
  CHECK(run_cli({"--manifest", write("ragged.tsv", "path\tsite\nx\n"), "--out", dir + "/r3"}, &out) == 2);
  CHECK(out.find("line 2 has 1 fields") != std::string::npos);
  CHECK(run_cli({"--manifest", write("ok.tsv", "path\tsite\n"), "--out", dir + "/r4", "--set", "train.nonsense=1"}, &out) == 2);
  CHECK(out.find("no field \"nonsense\"") != std::string::npos);
  CHECK(run_cli({"--manifest", write("ok2.tsv", "path\tsite\n"), "--out", dir + "/r5", "--set", "model.image_h=100"}, &out) == 2);
  CHECK(out.find("multiples of 16") != std::string::npos);
  CHECK_FALSE(fs::exists(dir + "/r1"));
}
