// imunity-harmonize under faults and hostile inputs: broken checkpoints, kills and reruns, symlink
// loops, outputs mixed with inputs, headers without orientation, folders it cannot write.
#include <catch2/catch.hpp>

#include <array>
#include <csignal>
#include <cstring>
#include <functional>
#include <filesystem>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>

#include "harmonize_test_util.h"
#include "io/nifti.h"
#include "io/safetensors.h"
#include "support/paths.h"

namespace fs = std::filesystem;
using namespace im;
using Cli = test::HarmonizeCli;

namespace {

nlohmann::json read_json(const std::string& path) { return nlohmann::json::parse(test::read_text(path)); }

// `cli`'s checkpoint with `edit` applied to its tensors and metadata, written to dir/name.
std::string edited_checkpoint(const Cli& cli, const std::string& name, const std::function<void(io::SafeTensors&)>& edit) {
  io::SafeTensors st = io::read_safetensors(cli.model);
  edit(st);
  const std::string path = cli.dir + "/" + name;
  io::write_safetensors(path, st);
  return path;
}

io::NamedArray& tensor(io::SafeTensors& st, const std::string& name) {
  for (io::NamedArray& t : st.tensors)
    if (t.name == name) return t;
  FAIL("no tensor " << name);
  throw;
}

// The bytes of a file, to edit header fields in place; and back to a file.
std::vector<char> file_bytes(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return std::vector<char>((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
}
void write_file(const std::string& path, const std::vector<char>& b) {
  std::ofstream(path, std::ios::binary).write(b.data(), static_cast<std::streamsize>(b.size()));
}

std::string output_of(const std::string& out_dir, const std::string& stem) { return out_dir + "/" + stem + "_desc-harmonized_T1w.nii.gz"; }
std::string sidecar_of(const std::string& out_dir, const std::string& stem) { return out_dir + "/" + stem + "_desc-harmonized_T1w.json"; }

}  // namespace

TEST_CASE("harmonize faults: a checkpoint with NaN weights is refused when loaded, naming the tensor", "[harmonize][faults]") {
  if (!test::harmonize_tool_built()) return;
  const Cli cli("harmonize_faults_nan_model");
  const std::string in = cli.synthetic("a.nii.gz");
  const std::string model = edited_checkpoint(cli, "nan.safetensors", [](io::SafeTensors& st) {
    tensor(st, "decoder.tconv2.weight").values[3] = std::numeric_limits<float>::quiet_NaN();
  });
  const auto r = test::run_command(test::harmonize_tool() + " --model " + model + " --in " + in + " --out-dir " + cli.dir +
                                   "/out --target-site site_a --threads 2 --quiet");
  INFO(r.output);
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.output, Catch::Contains(model) && Catch::Contains("decoder.tconv2.weight") && Catch::Contains("NaN"));
  CHECK_FALSE(fs::exists(output_of(cli.dir + "/out", "a")));
}

TEST_CASE("harmonize faults: an output with NaN or Inf voxels fails its input instead of being written", "[harmonize][faults]") {
  if (!test::harmonize_tool_built()) return;
  const Cli cli("harmonize_faults_nan_output");
  const std::string in = cli.synthetic("a.nii.gz");
  // Finite weights too large for float32 arithmetic: the decoder's sums overflow to Inf and then NaN.
  const std::string model = edited_checkpoint(cli, "huge.safetensors", [](io::SafeTensors& st) {
    std::vector<float>& w = tensor(st, "decoder.tconv0.weight").values;
    for (size_t i = 0; i < w.size(); ++i) w[i] = i % 2 ? 3e38f : -3e38f;
  });
  for (const std::string stage : {"detail", "decoder"}) {
    const auto r = test::run_command(test::harmonize_tool() + " --model " + model + " --in " + in + " --out-dir " + cli.dir +
                                     "/out --target-site site_a --threads 2 --quiet --output " + stage);
    INFO(stage << "\n" << r.output);
    CHECK(r.exit_code == 1);
    CHECK_THAT(r.output, Catch::Contains("FAILED " + in) && Catch::Contains("NaN or Inf"));
    CHECK_FALSE(fs::exists(output_of(cli.dir + "/out", "a")));
    CHECK_FALSE(fs::exists(sidecar_of(cli.dir + "/out", "a")));
  }
}

TEST_CASE("harmonize faults: a pair halved by a kill between the renames is redone by a rerun", "[harmonize][faults]") {
  if (!test::harmonize_tool_built()) return;
  const Cli cli("harmonize_faults_half_pair");
  const std::string in = cli.synthetic("sub-01_T1w.nii.gz"), out = cli.dir + "/out";
  const std::string vol = output_of(out, "sub-01"), side = sidecar_of(out, "sub-01");
  const std::string args = "--in " + in + " --out-dir " + out + " --target-site site_a";
  REQUIRE(cli.run(args).exit_code == 0);
  const std::string vol1 = test::read_text(vol);
  // Killed after the volume was placed, before its sidecar (the commit record) was.
  fs::remove(side);
  auto r = cli.run(args);
  INFO(r.output);
  CHECK(r.exit_code == 0);
  CHECK_THAT(r.output, Catch::Contains("redone") && Catch::Contains("1 harmonized"));
  CHECK(fs::exists(side));
  CHECK(test::read_text(vol) == vol1);
  // A sidecar whose volume went missing.
  fs::remove(vol);
  r = cli.run(args);
  CHECK(r.exit_code == 0);
  CHECK(test::read_text(vol) == vol1);
  CHECK(test::temp_leftovers(cli.dir).empty());
}

TEST_CASE("harmonize faults: SIGTERM and SIGINT stop a batch cleanly, and a rerun finishes it", "[harmonize][faults]") {
  if (!test::harmonize_tool_built()) return;
  const Cli cli("harmonize_faults_signal");
  const int n = 6;
  auto name = [](int i) { return "v" + std::to_string(i); };
  fs::create_directories(cli.dir + "/in");
  for (int i = 0; i < n; ++i) test::write_synthetic(cli.dir + "/in", name(i) + ".nii.gz", {40, 44, 36}, test::diagonal_affine(3, 3, 3));
  // Sent before the batch (once the model and the target are ready), and in the middle of it (once
  // the first input is written: the progress lines, not on a terminal, are plain lines).
  for (const int sig : {SIGTERM, SIGINT})
    for (const std::string at : {"imunity-harmonize: target", "harmonize 1/"}) {
      const std::string out = cli.dir + "/out" + std::to_string(sig) + (at[0] == 'h' ? "_mid" : "_start");
      const std::vector<std::string> args = {"--model", cli.model, "--in-dir", cli.dir + "/in", "--out-dir", out, "--target-site",
                                             "site_a", "--threads", "2"};
      auto r = test::run_program(test::harmonize_tool(), args, sig, at);
      INFO(sig << " at \"" << at << "\"\n" << r.output);
      CHECK(r.exit_code == 128 + sig);
      CHECK_THAT(r.output, Catch::Contains("interrupted by SIG") && Catch::Contains("run the same command again"));
      CHECK(test::temp_leftovers(cli.dir).empty());
      int pairs = 0;
      for (int i = 0; i < n; ++i) {
        CHECK(fs::exists(output_of(out, name(i))) == fs::exists(sidecar_of(out, name(i))));
        pairs += fs::exists(sidecar_of(out, name(i)));
      }
      // Mid-batch: the first is written, what the network had started is, the rest is not started.
      if (at[0] == 'h') {
        CHECK(pairs >= 1);
        CHECK(pairs < n);
        CHECK_THAT(r.output, Catch::Contains("not started"));
      } else {
        CHECK(pairs == 0);
      }
      r = test::run_program(test::harmonize_tool(), args);
      CHECK(r.exit_code == 0);
      CHECK_THAT(r.output, Catch::Contains(std::to_string(n - pairs) + " harmonized, " + std::to_string(pairs) + " skipped"));
      for (int i = 0; i < n; ++i) CHECK(fs::exists(sidecar_of(out, name(i))));
    }
}

TEST_CASE("harmonize faults: a symlink loop in --in-dir or --bids fails that entry alone, hidden files are not inputs", "[harmonize][faults]") {
  if (!test::harmonize_tool_built()) return;
  const Cli cli("harmonize_faults_loops");
  const std::string in = cli.dir + "/in";
  fs::create_directories(in);
  test::write_synthetic(in, "good.nii.gz", {24, 28, 20}, test::diagonal_affine(4, 4, 4));
  test::write_synthetic(in, ".hidden.nii.gz", {24, 28, 20}, test::diagonal_affine(4, 4, 4));
  fs::create_symlink("loop.nii.gz", in + "/loop.nii.gz");
  auto r = cli.run("--in-dir " + in + " --out-dir " + cli.dir + "/out --target-site site_a");
  INFO(r.output);
  CHECK(r.exit_code == 1);
  CHECK_THAT(r.output, Catch::Contains("2 input(s)") && Catch::Contains("1 harmonized") && Catch::Contains("FAILED " + in + "/loop.nii.gz"));
  CHECK(fs::exists(output_of(cli.dir + "/out", "good")));
  CHECK_FALSE(fs::exists(output_of(cli.dir + "/out", ".hidden")));

  const std::string bids = cli.dir + "/bids";
  fs::create_directories(bids + "/sub-01/anat");
  fs::create_directories(bids + "/sub-03/anat");
  fs::create_directories(bids + "/sub-04");
  test::write_synthetic(bids + "/sub-01/anat", "sub-01_T1w.nii.gz", {24, 28, 20}, test::diagonal_affine(4, 4, 4));
  test::write_synthetic(bids + "/sub-01/anat", ".sub-01_T1w.nii.gz", {24, 28, 20}, test::diagonal_affine(4, 4, 4));
  fs::create_symlink("sub-02", bids + "/sub-02");                          // a subject folder that is a loop
  fs::create_symlink("sub-03_T1w.nii.gz", bids + "/sub-03/anat/sub-03_T1w.nii.gz");  // an image that is a loop
  fs::create_symlink("anat", bids + "/sub-04/anat");                       // an anat folder that is a loop
  fs::create_symlink("ses-1", bids + "/sub-04/ses-1");                     // a session folder that is a loop
  r = cli.run("--bids " + bids + " --out-dir " + cli.dir + "/derivatives --target-site site_a");
  INFO(r.output);
  CHECK(r.exit_code == 1);
  CHECK_THAT(r.output, Catch::Contains("2 input(s)") && Catch::Contains("1 harmonized") && Catch::Contains("FAILED " + bids + "/sub-03"));
  CHECK_THAT(r.output, Catch::Contains(bids + "/sub-02") && Catch::Contains(bids + "/sub-04/anat") && Catch::Contains(bids + "/sub-04/ses-1"));
  CHECK(fs::exists(cli.dir + "/derivatives/sub-01/anat/sub-01_desc-harmonized_T1w.nii.gz"));
}

TEST_CASE("harmonize faults: --out-dir the same folder as --in-dir or --bids is refused", "[harmonize][faults]") {
  if (!test::harmonize_tool_built()) return;
  const Cli cli("harmonize_faults_out_is_in");
  const std::string in = cli.dir + "/in";
  fs::create_directories(in + "/sub-01/anat");
  test::write_synthetic(in, "a.nii.gz", {24, 28, 20}, test::diagonal_affine(4, 4, 4));
  test::write_synthetic(in + "/sub-01/anat", "sub-01_T1w.nii.gz", {24, 28, 20}, test::diagonal_affine(4, 4, 4));
  for (const std::string& args : {"--in-dir " + in + " --out-dir " + in, "--in-dir " + in + " --out-dir " + in + "/sub-01/../.",
                                  "--bids " + in + " --out-dir " + in + "/"}) {
    const auto r = cli.run(args + " --target-site site_a");
    INFO(args << "\n" << r.output);
    CHECK(r.exit_code == 2);
    CHECK_THAT(r.output, Catch::Contains("--out-dir") && Catch::Contains("same folder"));
  }
  CHECK_FALSE(fs::exists(output_of(in, "a")));
  CHECK_FALSE(fs::exists(in + "/sub-01/anat/sub-01_desc-harmonized_T1w.nii.gz"));
}

TEST_CASE("harmonize faults: an input without orientation keeps qform/sform codes 0, with a warning in the log and the sidecar", "[harmonize][faults]") {
  if (!test::harmonize_tool_built()) return;
  const Cli cli("harmonize_faults_codes");
  std::vector<char> b = file_bytes(cli.synthetic("src.nii"));
  const int16_t zero = 0;
  std::memcpy(b.data() + 252, &zero, 2);  // qform_code
  std::memcpy(b.data() + 254, &zero, 2);  // sform_code
  write_file(cli.dir + "/nocodes.nii", b);

  const std::string out = cli.dir + "/out";
  auto r = cli.run("--in " + cli.dir + "/nocodes.nii --out-dir " + out + " --target-site site_a");
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  CHECK_THAT(r.output, Catch::Contains("warning") && Catch::Contains("qform_code and sform_code are 0"));
  const io::Volume input = io::read_volume(cli.dir + "/nocodes.nii"), output = io::read_volume(output_of(out, "nocodes"));
  CHECK(input.header.qform_code == 0);
  CHECK(output.header.qform_code == 0);
  CHECK(output.header.sform_code == 0);
  CHECK(output.affine == input.affine);
  const nlohmann::json side = read_json(sidecar_of(out, "nocodes"));
  REQUIRE(side.contains("warnings"));
  CHECK_THAT(side["warnings"].dump(), Catch::Contains("qform_code and sform_code are 0"));
}

TEST_CASE("harmonize faults: an input whose voxel size is 0 fails, not read as 1 mm", "[harmonize][faults]") {
  if (!test::harmonize_tool_built()) return;
  const Cli cli("harmonize_faults_pixdim");
  std::vector<char> b = file_bytes(cli.synthetic("src.nii"));
  const int16_t zero = 0;
  const float no_size = 0.f;
  std::memcpy(b.data() + 254, &zero, 2);         // sform_code: the qform gives the geometry
  std::memcpy(b.data() + 76 + 8, &no_size, 4);  // pixdim[2], which the qform scales by
  write_file(cli.dir + "/nosize.nii", b);
  const std::string out = cli.dir + "/out";
  const auto r = cli.run("--in " + cli.dir + "/nosize.nii --out-dir " + out + " --target-site site_a");
  INFO(r.output);
  CHECK(r.exit_code == 1);
  CHECK_THAT(r.output, Catch::Contains("FAILED " + cli.dir + "/nosize.nii") && Catch::Contains("pixdim[2]"));
  CHECK_FALSE(fs::exists(output_of(out, "nosize")));
}

TEST_CASE("harmonize faults: a checkpoint config is checked (bounds, tensor table) before the model is built", "[harmonize][faults]") {
  if (!test::harmonize_tool_built()) return;
  const Cli cli("harmonize_faults_config");
  auto with_config = [&](const std::string& name, const std::function<void(nlohmann::json&)>& edit) {
    return edited_checkpoint(cli, name, [&](io::SafeTensors& st) {
      nlohmann::json mc = nlohmann::json::parse(st.metadata.at("model_config"));
      edit(mc);
      st.metadata["model_config"] = mc.dump();
    });
  };
  // Under 2 GB of address space: a model built from the config before its tensors are checked needs
  // 4 GB (the site head of a 2048 x 2048 input with 4096 hidden units), and far more for the others.
  auto load = [&](const std::string& model) {
    return test::run_command("ulimit -v 2000000; " + test::harmonize_tool() + " --model " + model +
                             " --target-site site_a --save-code " + cli.dir + "/code.json --device cpu --threads 2");
  };
  const std::string big = with_config("big.safetensors", [](nlohmann::json& mc) {
    mc["image_h"] = 2048, mc["image_w"] = 2048, mc["site_hidden"] = 4096;
  });
  auto r = load(big);
  INFO(r.output);
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.output, Catch::Contains(big) && Catch::Contains("site_head.fc1.weight") && Catch::Contains("[8,100]"));
  for (const int h : {100000, 1048576, 4096}) {
    const std::string huge = with_config("h" + std::to_string(h) + ".safetensors", [&](nlohmann::json& mc) { mc["image_h"] = h; });
    r = load(huge);
    INFO(r.output);
    CHECK(r.exit_code == 2);
    CHECK_THAT(r.output, Catch::Contains(huge) && Catch::Contains("image size") && Catch::Contains("2048"));
  }
  CHECK_FALSE(fs::exists(cli.dir + "/code.json"));
}

TEST_CASE("harmonize faults: a 4-D input and NaN voxels point at harmonize's own --volume and --nan-to-zero", "[harmonize][faults]") {
  if (!test::harmonize_tool_built()) return;
  const Cli cli("harmonize_faults_read_options");
  // A 4-D file: two copies of the synthetic volume.
  const std::string src = cli.synthetic("src.nii");
  std::vector<char> b = file_bytes(src);
  float vox_offset;
  std::memcpy(&vox_offset, b.data() + 108, 4);
  b.insert(b.end(), b.begin() + static_cast<long>(vox_offset), b.end());
  const int16_t four = 4, two = 2;
  std::memcpy(b.data() + 40, &four, 2);
  std::memcpy(b.data() + 48, &two, 2);
  write_file(cli.dir + "/fourd.nii", b);
  io::Volume v = io::read_volume(src);
  v.data[v.data.size() / 2] = std::numeric_limits<float>::quiet_NaN();
  io::write_volume(cli.dir + "/nan.nii.gz", v);

  const std::string common = " --out-dir " + cli.dir + "/out --target-site site_a";
  auto r = cli.run("--in " + cli.dir + "/fourd.nii" + common);
  INFO(r.output);
  CHECK(r.exit_code == 1);
  CHECK_THAT(r.output, Catch::Contains("--volume"));
  r = cli.run("--in " + cli.dir + "/fourd.nii --volume 1" + common);
  CHECK(r.exit_code == 0);
  r = cli.run("--in " + cli.dir + "/nan.nii.gz" + common);
  CHECK(r.exit_code == 1);
  CHECK_THAT(r.output, Catch::Contains("--nan-to-zero"));
  r = cli.run("--in " + cli.dir + "/nan.nii.gz --nan-to-zero" + common);
  CHECK(r.exit_code == 0);
  CHECK(read_json(sidecar_of(cli.dir + "/out", "nan"))["options"]["nan_to_zero"] == true);
}

TEST_CASE("harmonize faults: a rerun skips an output only when its sidecar matches the run and the volume is complete", "[harmonize][faults]") {
  if (!test::harmonize_tool_built()) return;
  const Cli cli("harmonize_faults_resume");
  const std::string in = cli.synthetic("a.nii.gz"), out = cli.dir + "/out", vol = output_of(out, "a");
  const std::string args = "--in " + in + " --out-dir " + out;
  REQUIRE(cli.run(args + " --target-site site_a").exit_code == 0);
  const std::string vol1 = test::read_text(vol), side1 = test::read_text(sidecar_of(out, "a"));

  // A truncated volume is redone, not skipped.
  std::ofstream(vol, std::ios::binary) << vol1.substr(0, vol1.size() / 2);
  auto r = cli.run(args + " --target-site site_a");
  INFO(r.output);
  CHECK(r.exit_code == 0);
  CHECK_THAT(r.output, Catch::Contains("redone") && Catch::Contains("1 harmonized"));
  CHECK(test::read_text(vol) == vol1);

  // Another target, options or model: refused, the earlier output kept.
  const std::string other_model = test::make_checkpoint(cli.dir, "other.safetensors", test::tiny_model_config(80, 80), 4.0, 2);
  const std::vector<std::array<std::string, 3>> changes = {{cli.model, " --target-site site_b", "target"},
                                                          {cli.model, " --target-site site_a --outside keep", "outside"},
                                                          {cli.model, " --target-site site_a --output decoder", "output"},
                                                          {other_model, " --target-site site_a", "model"}};
  for (const auto& [model, change, what] : changes) {
    r = test::run_command(test::harmonize_tool() + " --model " + model + " --threads 2 --quiet " + args + change);
    INFO(change << "\n" << r.output);
    CHECK(r.exit_code == 1);
    CHECK_THAT(r.output, Catch::Contains("FAILED") && Catch::Contains(what) && Catch::Contains("--overwrite"));
    CHECK(test::read_text(vol) == vol1);
  }
  // The same run again: skipped; options that do not change the output do not matter.
  r = cli.run(args + " --target-site site_a --batch-size 3 --gzip-level 6");
  CHECK(r.exit_code == 0);
  CHECK_THAT(r.output, Catch::Contains("1 skipped"));
}

TEST_CASE("harmonize faults: an output folder that cannot be written is refused before any input is computed", "[harmonize][faults]") {
  if (!test::harmonize_tool_built()) return;
  const Cli cli("harmonize_faults_readonly");
  const std::string in = cli.synthetic("a.nii.gz");
  std::string out = cli.dir + "/ro";
  fs::create_directories(out);
  fs::permissions(out, fs::perms::owner_read | fs::perms::owner_exec | fs::perms::group_read | fs::perms::group_exec);
  // Root ignores the mode bits: then /proc, a folder nobody can create files in, stands in.
  if (std::ofstream(out + "/probe").good()) {
    fs::remove(out + "/probe");
    out = "/proc";
  }
  const auto r = cli.run("--in " + in + " --out-dir " + out + " --target-site site_a");
  INFO(r.output);
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.output, Catch::Contains(out) && Catch::Contains("cannot write"));
  fs::permissions(cli.dir + "/ro", fs::perms::owner_all);
}
