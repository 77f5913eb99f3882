// imunity-harmonize as a user runs it: geometry kept on every kind of real input, bad inputs in a
// batch, atomic outputs, --overwrite, shards, the three target modes, BIDS derivatives, --outside.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <set>
#include <nlohmann/json.hpp>

#include "harmonize_test_util.h"
#include "io/json_io.h"
#include "io/mask.h"
#include "io/nifti.h"
#include "support/paths.h"
#include "tools/harmonize/harmonize_batch.h"
#include "tools/common/sha256.h"

namespace fs = std::filesystem;
using namespace im;

namespace {

using Cli = test::HarmonizeCli;

nlohmann::json read_json(const std::string& path) { return nlohmann::json::parse(test::read_text(path)); }

void require_same_geometry(const io::Volume& in, const io::Volume& out, const std::string& what) {
  INFO(what);
  REQUIRE(out.dim == in.dim);
  CHECK(io::max_abs_diff(out.affine, in.affine) < 1e-9);
  CHECK(out.header.qform_code == in.header.qform_code);
  CHECK(out.header.sform_code == in.header.sform_code);
  CHECK(io::max_abs_diff(out.header.qform, in.header.qform) < 1e-6);
  CHECK(io::max_abs_diff(out.header.sform, in.header.sform) < 1e-6);
  CHECK(io::axcodes(out.affine) == io::axcodes(in.affine));
  for (int i = 1; i <= 3; ++i) CHECK(out.header.pixdim[i] == Approx(in.header.pixdim[i]));
  CHECK(out.header.datatype == io::dtype::float32);
  bool finite_unit = true;
  for (float v : out.data) finite_unit = finite_unit && v >= 0.f && v <= 1.f;
  CHECK(finite_unit);
}

}  // namespace

TEST_CASE("harmonize cli: the output keeps the grid of every kind of real input", "[harmonize][cli][data]") {
  const std::string data = test::data_dir();
  // uint8 PSR 2 mm, uint16 LPS 0.7 and 0.9 x 3 mm, int16 RAS 1 mm, float32 LAS (qform 2) and RAS (sform 0) 1 mm.
  const std::vector<std::string> inputs = {
      data + "/ixi_hh_2mm/t1/IXI013-HH-1212_T1.nii.gz", data + "/clinical_t1/patient01_study1_T1W.nii.gz",
      data + "/clinical_t1/patient20_study2_T1W.nii.gz", data + "/unseen_scanners/siemens_trio_mprage.nii.gz",
      data + "/templates/mni.nii.gz",                    data + "/templates/ch2.nii.gz"};
  const Cli cli("harmonize_cli_geometry");
  std::string args;
  for (const auto& p : inputs) args += " " + p;
  const auto r = cli.run("--in" + args + " --out-dir " + cli.dir + "/out --target-site site_a");
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  CHECK_THAT(r.output, Catch::Contains("NOT skull stripping"));
  const std::string model_hash = tools::sha256_file(cli.model);
  for (const auto& p : inputs) {
    const std::string base = cli.dir + "/out/" + tools::output_stem(p) + "_desc-harmonized_T1w";
    require_same_geometry(io::read_volume(p), io::read_volume(base + ".nii.gz"), p);
    const nlohmann::json side = read_json(base + ".json");
    CHECK(side["model"]["sha256"] == model_hash);
    CHECK(side["input"] == p);
    CHECK(side["target"]["kind"] == "site");
    CHECK(side["version"] == IMUNITY_VERSION);
    for (const char* stage : {"read", "mask", "prepare", "network", "unprepare", "encode", "write", "total"})
      CHECK(side["timings_ms"].contains(stage));
  }
  CHECK(test::temp_leftovers(cli.dir).empty());
}

TEST_CASE("harmonize cli: 2.5D keeps the grid and warns about the borrowed axial model", "[harmonize][cli][data]") {
  const std::string data = test::data_dir();
  const std::vector<std::string> inputs = {data + "/ixi_hh_2mm/t1/IXI014-HH-1236_T1.nii.gz",
                                           data + "/clinical_t1/patient03_study2_T1W.nii.gz"};
  const Cli cli("harmonize_cli_25d");
  const auto r = cli.run("--in " + inputs[0] + " " + inputs[1] + " --out-dir " + cli.dir + "/out --target-site site_b --orientations all");
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  CHECK_THAT(r.output, Catch::Contains("trained on AXIAL slices"));
  for (const auto& p : inputs) {
    const std::string base = cli.dir + "/out/" + tools::output_stem(p) + "_desc-harmonized_T1w";
    require_same_geometry(io::read_volume(p), io::read_volume(base + ".nii.gz"), p);
    CHECK(read_json(base + ".json")["network"].size() == 3);
  }
}

TEST_CASE("harmonize cli: bad inputs in a batch are reported and skipped, the others written", "[harmonize][cli]") {
  const Cli cli("harmonize_cli_bad");
  const std::string good = cli.synthetic("good.nii.gz"), empty = cli.synthetic("empty.nii.gz");
  const std::string missing = cli.dir + "/missing.nii.gz", bad = cli.dir + "/bad.nii.gz";
  std::ofstream(bad) << "this is not a NIfTI file";
  // Per-input masks: good gets its head, empty an all-zero mask.
  fs::create_directories(cli.dir + "/masks");
  io::Volume gv = io::read_volume(good), ev = gv;
  const io::Mask gm = io::auto_mask(gv);
  for (size_t i = 0; i < gm.size(); ++i) gv.data[i] = gm[i], ev.data[i] = 0;
  io::write_volume(cli.dir + "/masks/good_mask.nii.gz", gv);
  io::write_volume(cli.dir + "/masks/empty_mask.nii.gz", ev);
  io::write_volume(cli.dir + "/masks/missing_mask.nii.gz", ev);
  io::write_volume(cli.dir + "/masks/bad_mask.nii.gz", ev);

  const auto r = cli.run("--in " + good + " " + missing + " " + bad + " " + empty + " --out-dir " + cli.dir + "/out --target-site site_a --mask-dir " + cli.dir + "/masks");
  INFO(r.output);
  CHECK(r.exit_code == 1);
  CHECK_THAT(r.output, Catch::Contains("FAILED " + missing));
  CHECK_THAT(r.output, Catch::Contains("FAILED " + bad));
  CHECK_THAT(r.output, Catch::Contains("FAILED " + empty) && Catch::Contains("mask is empty"));
  CHECK_THAT(r.output, Catch::Contains("1 harmonized") && Catch::Contains("3 failed"));
  CHECK(fs::exists(cli.dir + "/out/good_desc-harmonized_T1w.nii.gz"));
  CHECK(fs::exists(cli.dir + "/out/good_desc-harmonized_T1w.json"));
  for (const char* name : {"missing", "bad", "empty"}) {
    CHECK_FALSE(fs::exists(cli.dir + "/out/" + name + "_desc-harmonized_T1w.nii.gz"));
    CHECK_FALSE(fs::exists(cli.dir + "/out/" + name + "_desc-harmonized_T1w.json"));
  }
  CHECK(test::temp_leftovers(cli.dir).empty());

  // Usage and model errors: exit 2, nothing written.
  CHECK(cli.run("--in " + good + " --out-dir " + cli.dir + "/o2").exit_code == 2);  // no target
  CHECK(cli.run("--in " + good + " --out-dir " + cli.dir + "/o2 --target-site site_a --target-code x.json").exit_code == 2);
  CHECK(cli.run("--in " + good + " --target-site site_a").exit_code == 2);  // no --out-dir
  const auto bad_device = cli.run("--in " + good + " --out-dir " + cli.dir + "/o2 --target-site site_a --device cuda:x");
  CHECK(bad_device.exit_code == 2);
  CHECK_THAT(bad_device.output, Catch::Contains("expected cpu, cuda, cuda:N or auto"));
  const auto bad_model = test::run_command(test::harmonize_tool() + " --model " + bad + " --in " + good + " --out-dir " + cli.dir +
                                           "/o2 --target-site site_a");
  CHECK(bad_model.exit_code == 2);
  CHECK_THAT(bad_model.output, Catch::Contains(bad));
  CHECK_FALSE(fs::exists(cli.dir + "/o2/good_desc-harmonized_T1w.nii.gz"));
}

TEST_CASE("harmonize cli: existing outputs are skipped unless --overwrite, and a failed write leaves no half pair", "[harmonize][cli]") {
  const Cli cli("harmonize_cli_overwrite");
  const std::string in = cli.synthetic("sub-01_T1w.nii.gz");
  const std::string vol = cli.dir + "/out/sub-01_desc-harmonized_T1w.nii.gz", side = cli.dir + "/out/sub-01_desc-harmonized_T1w.json";
  const std::string args = "--in " + in + " --out-dir " + cli.dir + "/out --target-site site_a";
  REQUIRE(cli.run(args).exit_code == 0);
  const std::string side1 = test::read_text(side), vol1 = test::read_text(vol);

  auto r = cli.run(args);
  INFO(r.output);
  CHECK(r.exit_code == 0);
  CHECK_THAT(r.output, Catch::Contains("skipped") && Catch::Contains("1 skipped"));
  CHECK(test::read_text(side) == side1);

  r = cli.run(args + " --overwrite");
  CHECK(r.exit_code == 0);
  CHECK_THAT(r.output, Catch::Contains("1 harmonized"));
  CHECK(test::read_text(side) != side1);  // rewritten (its timings differ)
  CHECK(test::read_text(vol) == vol1);    // and deterministic

  // The sidecar cannot be placed (a folder is in the way): the volume placed first is taken back.
  // (A volume left without its sidecar is redone by a rerun: test_harmonize_faults.cpp.)
  fs::remove(vol);
  fs::remove(side);
  fs::create_directories(side + "/blocker");
  r = cli.run(args + " --overwrite");
  CHECK(r.exit_code == 1);
  CHECK_FALSE(fs::exists(vol));
  CHECK(test::temp_leftovers(cli.dir).empty());
}

TEST_CASE("harmonize cli: shards of a folder write every output exactly once", "[harmonize][cli][shard]") {
  const Cli cli("harmonize_cli_shard");
  fs::create_directories(cli.dir + "/in");
  for (int i = 0; i < 5; ++i) test::write_synthetic(cli.dir + "/in", "v" + std::to_string(i) + ".nii.gz", {24, 28, 20}, test::diagonal_affine(4, 4, 4));
  std::set<std::string> seen;
  for (int i = 0; i < 3; ++i) {
    const std::string out = cli.dir + "/out" + std::to_string(i);
    const auto r = i == 1 ? cli.run("--in-dir " + cli.dir + "/in --out-dir " + out + " --target-site site_a --shard slurm",
                                    "SLURM_ARRAY_TASK_ID=2 SLURM_ARRAY_TASK_MIN=1 SLURM_ARRAY_TASK_MAX=3 SLURM_ARRAY_TASK_COUNT=3")
                          : cli.run("--in-dir " + cli.dir + "/in --out-dir " + out + " --target-site site_a --shard " + std::to_string(i) + "/3");
    INFO(r.output);
    REQUIRE(r.exit_code == 0);
    for (const auto& e : fs::directory_iterator(out)) {
      const std::string f = e.path().filename().string();
      if (f.find(".nii.gz") == std::string::npos) continue;
      CHECK(seen.insert(f).second);
      const int k = f[1] - '0';
      CHECK(k % 3 == i);  // sorted v0..v4: shard i holds inputs i, i + 3
    }
  }
  CHECK(seen.size() == 5);
  CHECK(cli.run("--in-dir " + cli.dir + "/in --out-dir " + cli.dir + "/x --target-site site_a --shard 3/3").exit_code == 2);

  // The whole folder at once with three readers and three writers: the same files.
  const auto r = cli.run("--in-dir " + cli.dir + "/in --out-dir " + cli.dir + "/all --target-site site_a --io-threads 3");
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  for (int k = 0; k < 5; ++k) {
    const std::string f = "/v" + std::to_string(k) + "_desc-harmonized_T1w.nii.gz";
    CHECK(test::read_text(cli.dir + "/all" + f) == test::read_text(cli.dir + "/out" + std::to_string(k % 3) + f));
  }
}

TEST_CASE("harmonize cli: target image, site and saved code, and --save-code then --target-code is bit for bit", "[harmonize][cli][code]") {
  const Cli cli("harmonize_cli_targets");
  const std::string in = cli.synthetic("a.nii.gz"), ref = cli.synthetic("ref.nii.gz", {44, 40, 36});
  auto r = cli.run("--in " + in + " --out-dir " + cli.dir + "/img --target-image " + ref + " --save-code " + cli.dir + "/code.json");
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  r = cli.run("--in " + in + " --out-dir " + cli.dir + "/code --target-code " + cli.dir + "/code.json");
  REQUIRE(r.exit_code == 0);
  const io::Volume a = io::read_volume(cli.dir + "/img/a_desc-harmonized_T1w.nii.gz");
  const io::Volume b = io::read_volume(cli.dir + "/code/a_desc-harmonized_T1w.nii.gz");
  CHECK(a.data == b.data);
  const nlohmann::json sa = read_json(cli.dir + "/img/a_desc-harmonized_T1w.json"), sb = read_json(cli.dir + "/code/a_desc-harmonized_T1w.json");
  CHECK(sa["target"]["kind"] == "image");
  CHECK(sb["target"]["kind"] == "code");
  CHECK(sb["target"]["provenance"]["source"] == ref);
  CHECK(sa["target"]["codes"]["axial"]["sha256"] == sb["target"]["codes"]["axial"]["sha256"]);

  // --save-code alone fixes a reference without harmonizing anything.
  r = cli.run("--target-site site_b --save-code " + cli.dir + "/site_b.json");
  REQUIRE(r.exit_code == 0);
  CHECK(io::read_json(cli.dir + "/site_b.json")["target"]["source"] == "site_b");
  r = cli.run("--in " + in + " --out-dir " + cli.dir + "/site --target-site site_b");
  REQUIRE(r.exit_code == 0);
  CHECK(io::read_volume(cli.dir + "/site/a_desc-harmonized_T1w.nii.gz").data != a.data);

  r = cli.run("--in " + in + " --out-dir " + cli.dir + "/x --target-site 1.5T-GE");
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.output, Catch::Contains("site_a, site_b"));
  const Cli other("harmonize_cli_targets_other", 64);
  r = other.run("--in " + in + " --out-dir " + cli.dir + "/x --target-code " + cli.dir + "/code.json");
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.output, Catch::Contains("code shape"));
  CHECK_FALSE(fs::exists(cli.dir + "/x"));
}

TEST_CASE("harmonize cli: BIDS input gives a BIDS-derivatives folder", "[harmonize][cli][bids]") {
  const Cli cli("harmonize_cli_bids");
  const std::string bids = cli.dir + "/bids";
  for (const char* d : {"/sub-01/anat", "/sub-02/ses-1/anat", "/derivatives/x/sub-01/anat"}) fs::create_directories(bids + d);
  const io::Mat4 aff = test::diagonal_affine(4, 4, 4);
  test::write_synthetic(bids + "/sub-01/anat", "sub-01_T1w.nii.gz", {24, 28, 20}, aff);
  test::write_synthetic(bids + "/sub-02/ses-1/anat", "sub-02_ses-1_T1w.nii.gz", {24, 28, 20}, aff);
  test::write_synthetic(bids + "/sub-02/ses-1/anat", "sub-02_ses-1_FLAIR.nii.gz", {24, 28, 20}, aff);
  test::write_synthetic(bids + "/derivatives/x/sub-01/anat", "sub-01_T1w.nii.gz", {24, 28, 20}, aff);
  const std::string out = cli.dir + "/derivatives/imunity";
  const auto r = cli.run("--bids " + bids + " --out-dir " + out + " --target-site site_a");
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  CHECK_THAT(r.output, Catch::Contains("2 input(s)"));
  for (const char* f : {"/sub-01/anat/sub-01_desc-harmonized_T1w", "/sub-02/ses-1/anat/sub-02_ses-1_desc-harmonized_T1w"}) {
    CHECK(fs::exists(out + f + ".nii.gz"));
    CHECK(fs::exists(out + f + ".json"));
  }
  const nlohmann::json d = read_json(out + "/dataset_description.json");
  CHECK(d["DatasetType"] == "derivative");
  CHECK(d.contains("Name"));
  CHECK(d.contains("BIDSVersion"));
  CHECK(d["GeneratedBy"][0]["Name"] == "imunity");
  CHECK(d["GeneratedBy"][0]["Version"] == IMUNITY_VERSION);
}

TEST_CASE("harmonize cli: --outside keep gives the normalized input outside the mask, default zero", "[harmonize][cli]") {
  const Cli cli("harmonize_cli_outside");
  const std::string in = cli.synthetic("a.nii.gz");
  io::Volume input = io::read_volume(in), mv = input;
  const io::Mask mask = io::auto_mask(input);
  for (size_t i = 0; i < mask.size(); ++i) mv.data[i] = mask[i];
  io::write_volume(cli.dir + "/mask.nii.gz", mv);
  const std::string common = "--in " + in + " --target-site site_a --mask " + cli.dir + "/mask.nii.gz --out-dir " + cli.dir;
  REQUIRE(cli.run(common + "/keep --outside keep").exit_code == 0);
  REQUIRE(cli.run(common + "/zero").exit_code == 0);
  REQUIRE(cli.run(common + "/restore --restore-intensity").exit_code == 0);
  const io::Volume keep = io::read_volume(cli.dir + "/keep/a_desc-harmonized_T1w.nii.gz");
  const io::Volume zero = io::read_volume(cli.dir + "/zero/a_desc-harmonized_T1w.nii.gz");
  const nlohmann::json side = read_json(cli.dir + "/keep/a_desc-harmonized_T1w.json");
  const io::PrepRecord rec = io::record_from_json(side["preprocessing"]);
  io::apply_normalization(input, rec.norm);
  int64_t outside = 0;
  for (size_t i = 0; i < mask.size(); ++i)
    if (!mask[i]) {
      ++outside;
      REQUIRE(keep.data[i] == input.data[i]);
      REQUIRE(zero.data[i] == 0.f);
    } else {
      REQUIRE(keep.data[i] == zero.data[i]);
    }
  CHECK(outside > 0);
  CHECK_THAT(side["outside_mask"].get<std::string>(), Catch::Contains("kept"));
  CHECK_THAT(read_json(cli.dir + "/restore/a_desc-harmonized_T1w.json")["intensity"].get<std::string>(), Catch::Contains("input units"));
}

TEST_CASE("harmonize cli: a model that copies every voxel gives back the normalized input exactly", "[harmonize][cli][data]") {
  const std::string data = test::data_dir();
  // Every voxel lies below this model's background threshold, so its decoder copies the input: the
  // output is the pipeline's own round trip (canonical, normalize, pad, slices and back).
  const std::string dir = test::scratch_dir("harmonize_cli_identity");
  model::ModelConfig mc = test::tiny_model_config(128, 128);
  mc.background_threshold = 2.f;
  const std::string model = test::make_checkpoint(dir, "identity.safetensors", mc, 2.0);
  const std::string in = data + "/ixi_hh_2mm/t1/IXI015-HH-1258_T1.nii.gz";
  for (const char* orientations : {"axial", "all"}) {
    const std::string out = dir + "/" + orientations;
    const auto r = test::run_command(test::harmonize_tool() + " --model " + model + " --in " + in + " --out-dir " + out +
                                     " --target-site site_a --outside keep --quiet --orientations " + orientations);
    INFO(r.output);
    REQUIRE(r.exit_code == 0);
    const std::string base = out + "/IXI015-HH-1258_T1_desc-harmonized_T1w";
    const io::Volume o = io::read_volume(base + ".nii.gz");
    io::Volume expect = io::read_volume(in);
    io::apply_normalization(expect, io::record_from_json(read_json(base + ".json")["preprocessing"]).norm);
    REQUIRE(o.dim == expect.dim);
    size_t differ = 0;
    for (size_t i = 0; i < o.data.size(); ++i) differ += o.data[i] != expect.data[i];
    CHECK(differ == 0);
  }
}
