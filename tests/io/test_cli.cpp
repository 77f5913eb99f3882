// imunity-prep and imunity-simulate as a user runs them: outputs, sidecar, refusals, --overwrite,
// bad input -> non-zero exit, a message naming the file, nothing left behind.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "io/nifti.h"
#include "io_test_util.h"
#include "support/paths.h"

namespace fs = std::filesystem;
using namespace im;

namespace {

std::string make_input(const std::string& dir, const std::string& name) {
  const io::Volume v = test::synthetic({40, 44, 36}, test::diag_affine(-2, 2, 2, 40, -44, -36), [](int64_t x, int64_t y, int64_t z) {
    const double r = std::pow((x - 20) / 15.0, 2) + std::pow((y - 22) / 17.0, 2) + std::pow((z - 18) / 14.0, 2);
    return r < 1 ? float(400 + 300 * ((x / 3 + y / 3 + z / 3) % 2)) + float(x % 5) : float((x * 7 + y) % 3);
  });
  const std::string p = dir + "/" + name;
  io::write_volume(p, v);
  return p;
}

}  // namespace

TEST_CASE("cli: imunity-prep writes the volume, the mask and the sidecar", "[cli]") {
  const std::string dir = test::scratch_dir("cli_prep"), prep = test::tool_path("imunity-prep");
  const std::string in = make_input(dir, "in.nii.gz");
  const auto r = test::run_command(prep + " --in " + in + " --out " + dir + "/out.nii.gz --save-mask " + dir + "/mask.nii.gz --voxel-size 3");
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  const io::Volume out = io::read_volume(dir + "/out.nii.gz"), mask = io::read_volume(dir + "/mask.nii.gz");
  REQUIRE(io::axcodes(out.affine) == "RAS");
  REQUIRE(out.dim == mask.dim);
  REQUIRE(out.dim[0] % 16 == 0);
  REQUIRE(out.voxel_size()[0] == Approx(3));
  std::ifstream f(dir + "/out.nii.gz.json");
  const auto side = nlohmann::json::parse(f);
  REQUIRE(side["tool"] == "imunity-prep");
  REQUIRE(side["input"] == in);
  REQUIRE(side["record"]["normalization"]["method"] == "wm-peak");
  REQUIRE(side["timings_ms"].contains("read"));
  REQUIRE(test::temp_leftovers(dir).empty());
}

TEST_CASE("cli: imunity-prep refuses bad input and existing outputs, leaving nothing", "[cli]") {
  const std::string dir = test::scratch_dir("cli_prep_bad"), prep = test::tool_path("imunity-prep");
  const std::string in = make_input(dir, "in.nii.gz");
  // Missing input.
  auto r = test::run_command(prep + " --in " + dir + "/missing.nii.gz --out " + dir + "/o1.nii.gz");
  REQUIRE(r.exit_code != 0);
  REQUIRE_THAT(r.output, Catch::Contains(dir + "/missing.nii.gz") && Catch::Contains("no such file"));
  // A truncated gzip input.
  auto bytes = test::read_bytes(in);
  bytes.resize(bytes.size() / 2);
  test::write_bytes(dir + "/cut.nii.gz", bytes);
  r = test::run_command(prep + " --in " + dir + "/cut.nii.gz --out " + dir + "/o2.nii.gz --save-mask " + dir + "/m2.nii.gz");
  REQUIRE(r.exit_code != 0);
  REQUIRE_THAT(r.output, Catch::Contains("cut.nii.gz") && Catch::Contains("truncated"));
  // A mask file that is not NIfTI.
  test::write_bytes(dir + "/mask.nii", std::vector<uint8_t>(400, 7));
  r = test::run_command(prep + " --in " + in + " --mask " + dir + "/mask.nii --out " + dir + "/o3.nii.gz");
  REQUIRE(r.exit_code != 0);
  REQUIRE_THAT(r.output, Catch::Contains("mask.nii") && Catch::Contains("not a NIfTI file"));
  for (const char* name : {"o1.nii.gz", "o2.nii.gz", "m2.nii.gz", "o2.nii.gz.json", "o3.nii.gz", "o3.nii.gz.json"})
    REQUIRE(!fs::exists(dir + "/" + name));
  REQUIRE(test::temp_leftovers(dir).empty());
  // Bad options.
  r = test::run_command(prep + " --in " + in + " --out " + dir + "/o4.nii.gz --norm zscore");
  REQUIRE(r.exit_code != 0);
  REQUIRE_THAT(r.output, Catch::Contains("wm-peak"));
  r = test::run_command(prep + " --in " + in + " --out " + dir + "/o4.nii.gz --mask a.nii --labels b.nii");
  REQUIRE(r.exit_code != 0);
  // Existing output: refused and untouched without --overwrite, replaced with it.
  REQUIRE(test::run_command(prep + " --in " + in + " --out " + dir + "/o5.nii.gz").exit_code == 0);
  const auto before = test::read_bytes(dir + "/o5.nii.gz");
  r = test::run_command(prep + " --in " + in + " --out " + dir + "/o5.nii.gz --norm none");
  REQUIRE(r.exit_code != 0);
  REQUIRE_THAT(r.output, Catch::Contains("o5.nii.gz") && Catch::Contains("--overwrite"));
  REQUIRE(test::read_bytes(dir + "/o5.nii.gz") == before);
  r = test::run_command(prep + " --in " + in + " --out " + dir + "/o5.nii.gz --norm none --overwrite");
  REQUIRE(r.exit_code == 0);
  REQUIRE(test::read_bytes(dir + "/o5.nii.gz") != before);
}

TEST_CASE("cli: imunity-prep --help teaches", "[cli]") {
  const auto r = test::run_command(test::tool_path("imunity-prep") + " --help");
  REQUIRE(r.exit_code == 0);
  for (const char* s : {"--in", "--out", "--labels", "--auto-mask", "--voxel-size", "--norm", "--save-mask", "--overwrite", "not skull stripping", "Example"})
    REQUIRE_THAT(r.output, Catch::Contains(s));
}

TEST_CASE("cli: imunity-simulate writes every site and subject, deterministically", "[cli]") {
  const std::string dir = test::scratch_dir("cli_sim"), sim = test::tool_path("imunity-simulate");
  fs::create_directories(dir + "/in");
  make_input(dir + "/in", "subA.nii.gz");
  make_input(dir + "/in", "subB.nii");
  std::ofstream(dir + "/sites.json") << R"({"sites": [{"name": "s1", "contrast": [[0,0],[0.6,0.5],[1,1]], "noise": {"sigma": 0.02}},
                                                       {"name": "s2", "bias": {"type": "polynomial", "amplitude": 0.2}, "datatype": "int16"}]})";
  const std::string cmd = sim + " --in " + dir + "/in --sites " + dir + "/sites.json --seed 5 --auto-mask --out ";
  auto r = test::run_command(cmd + dir + "/out1");
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  for (const char* s : {"s1", "s2"})
    for (const char* f : {"subA.nii.gz", "subA_mask.nii.gz", "subB.nii.gz", "subB_mask.nii.gz", "site.json"})
      REQUIRE(fs::exists(dir + "/out1/" + s + "/" + f));
  REQUIRE(io::read_volume(dir + "/out1/s2/subA.nii.gz").header.datatype == io::dtype::int16);
  const io::Volume in = io::read_volume(dir + "/in/subA.nii.gz"), out = io::read_volume(dir + "/out1/s1/subA.nii.gz");
  REQUIRE(out.dim == in.dim);
  REQUIRE(out.affine == in.affine);
  REQUIRE(test::run_command(cmd + dir + "/out2").exit_code == 0);
  REQUIRE(test::read_bytes(dir + "/out1/s1/subA.nii.gz") == test::read_bytes(dir + "/out2/s1/subA.nii.gz"));
  // Existing outputs: refused without --overwrite.
  const auto before = test::read_bytes(dir + "/out1/s2/subB.nii.gz");
  r = test::run_command(cmd + dir + "/out1");
  REQUIRE(r.exit_code != 0);
  REQUIRE_THAT(r.output, Catch::Contains("already exists"));
  REQUIRE(test::read_bytes(dir + "/out1/s2/subB.nii.gz") == before);
  REQUIRE(test::run_command(cmd + dir + "/out1 --overwrite").exit_code == 0);
}

TEST_CASE("cli: imunity-simulate refuses bad sites and inputs", "[cli]") {
  const std::string dir = test::scratch_dir("cli_sim_bad"), sim = test::tool_path("imunity-simulate");
  const std::string in = make_input(dir, "sub.nii.gz");
  std::ofstream(dir + "/bad.json") << R"({"name": "x", "contrast": [[0,0],[0.5,0.9],[0.6,0.2],[1,1]]})";
  auto r = test::run_command(sim + " --in " + in + " --sites " + dir + "/bad.json --out " + dir + "/out");
  REQUIRE(r.exit_code != 0);
  REQUIRE_THAT(r.output, Catch::Contains("bad.json") && Catch::Contains("monotone"));
  std::ofstream(dir + "/broken.json") << "{ not json";
  r = test::run_command(sim + " --in " + in + " --sites " + dir + "/broken.json --out " + dir + "/out");
  REQUIRE(r.exit_code != 0);
  REQUIRE_THAT(r.output, Catch::Contains("broken.json"));
  std::ofstream(dir + "/ok.json") << R"({"name": "ok"})";
  r = test::run_command(sim + " --in " + dir + "/nothing.nii.gz --sites " + dir + "/ok.json --out " + dir + "/out");
  REQUIRE(r.exit_code != 0);
  REQUIRE_THAT(r.output, Catch::Contains("nothing.nii.gz"));
  r = test::run_command(sim + " --in " + in + " --sites " + dir + "/ok.json --labels-dir " + dir + "/nolabels --out " + dir + "/out");
  REQUIRE(r.exit_code != 0);
  REQUIRE_THAT(r.output, Catch::Contains("nolabels"));
  REQUIRE(!fs::exists(dir + "/out/ok/sub.nii.gz"));
}
