// imunity-train's flags and manifests as a careless user gives them: bad values are refused with the
// flag named (never replaced by a default), values are kept exactly, a volume listed twice is refused.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "io/error.h"
#include "support/command.h"
#include "support/paths.h"
#include "tools/train/manifest.h"
#include "train/train_data.h"

namespace fs = std::filesystem;
using namespace im;

namespace {
test::CommandResult train(const std::vector<std::string>& args) {
  return test::run_program(std::string(IMUNITY_BINARY_DIR) + "/tools/imunity-train", args);
}
}  // namespace

TEST_CASE("train cli: a bad flag value is refused naming the flag, not replaced by the default") {
  const std::string dir = test::scratch_dir("train_cli_flags");
  // The manifest's volume does not exist: a flag that is not refused first gets past to that error.
  std::ofstream(dir + "/m.tsv") << "path\tsite\nnope.nii.gz\tA\n";
  const std::vector<std::vector<std::string>> bad = {{"--steps", "-5"}, {"--batch", "0"},  {"--batch", "-1"},
                                                     {"--batch", "1"},  {"--lr", "-1"},    {"--lr", "0"},
                                                     {"--lr", "nan"},   {"--lr", "inf"},   {"--threads", "-2"},
                                                     {"--device", "gpu"}, {"--seed", "-1"},   {"--preset", "papr"}};
  for (const auto& flag : bad) {
    const auto r = train({"--manifest", dir + "/m.tsv", "--out", dir + "/run", flag[0], flag[1]});
    INFO(flag[0] << " " << flag[1] << ":\n" << r.output);
    CHECK(r.exit_code == 2);
    CHECK_THAT(r.output, Catch::Contains(flag[0]) && Catch::Contains(flag[1]));
    CHECK_THAT(r.output, !Catch::Contains("no such file"));
  }
  CHECK_FALSE(fs::exists(dir + "/run"));
}

TEST_CASE("train cli: --lr and --steps reach the effective config exactly") {
  const std::string manifest = test::virtual_site_manifest(4, {"low_contrast.json", "high_contrast_15t.json"});
  if (manifest.empty()) {
    WARN("SKIPPED: the shared data (../shared/data) is absent");
    return;
  }
  const std::string dir = test::scratch_dir("train_cli_exact");
  // std::to_string would have written 2.5e-06 as "0.000003" and 1e-07 as "0.000000".
  for (const std::string lr : {"2.5e-06", "1e-07"}) {
    const std::string out = dir + "/lr" + lr;
    const auto r = train({"--manifest", manifest, "--out", out, "--steps", "0", "--lr", lr, "--batch", "4", "--device", "cpu",
                          "--set", "model.image_h=64", "--set", "model.image_w=64", "--set", "train.voxel_size=4", "--set",
                          "train.code_slices=8", "--quiet"});
    INFO(r.output);
    REQUIRE(r.exit_code == 0);
    std::ifstream in(out + "/config.json");
    const nlohmann::json cfg = nlohmann::json::parse(in);
    CHECK(cfg["train"]["lr"].get<float>() == std::stof(lr));
    CHECK(cfg["train"]["steps"].get<int64_t>() == 0);
    CHECK(cfg["train"]["batch"].get<int>() == 4);
  }
}

TEST_CASE("train cli: a manifest that lists one volume twice is refused, naming both lines") {
  const std::string dir = test::scratch_dir("train_cli_duplicate");
  for (const char* f : {"a.nii.gz", "b.nii.gz"}) std::ofstream(dir + "/" + f) << "x";
  fs::create_directories(dir + "/sub");
  auto write = [&](const std::string& name, const std::string& text) {
    std::ofstream(dir + "/" + name) << text;
    return dir + "/" + name;
  };
  // The same file, written the same way, through "./" and "sub/..", and absolute.
  for (const std::string& second : std::vector<std::string>{"a.nii.gz", "./a.nii.gz", "sub/../a.nii.gz", dir + "/a.nii.gz"}) {
    const std::string m = write("dup.tsv", "path\tsite\na.nii.gz\tA\nb.nii.gz\tB\n" + second + "\tB\n");
    INFO(second);
    CHECK_THROWS_WITH(tools::read_manifest(m), Catch::Contains(m) && Catch::Contains("line 4") && Catch::Contains("line 2") &&
                                                   Catch::Contains("a.nii.gz"));
  }
  // Through the tool: refused before any volume is read.
  const auto r = train({"--manifest", dir + "/dup.tsv", "--out", dir + "/run"});
  INFO(r.output);
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.output, Catch::Contains("line 4"));
  CHECK_NOTHROW(tools::read_manifest(write("ok.tsv", "path\tsite\na.nii.gz\tA\nb.nii.gz\tB\n")));
}
