// The pieces of imunity-harmonize without the command line: SHA-256 against the FIPS 180-4
// vectors, output names, shards, per-input masks, model-sized windows, contrast-code files.
#include <catch2/catch.hpp>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <set>

#include "harmonize_test_util.h"
#include "io/error.h"
#include "io/json_io.h"
#include "support/paths.h"
#include "tools/harmonize/harmonize.h"
#include "tools/harmonize/harmonize_batch.h"
#include "tools/common/sha256.h"
#include "tools/harmonize/harmonize_slicing.h"

namespace fs = std::filesystem;
using namespace im;
using namespace im::tools;

TEST_CASE("harmonize: SHA-256 matches the FIPS 180-4 test vectors", "[harmonize][sha256]") {
  auto h = [](const std::string& s) { return sha256_hex(s.data(), s.size()); };
  CHECK(h("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  CHECK(h("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  CHECK(h("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq") ==
        "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  CHECK(h("abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu") ==
        "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1");
  CHECK(h(std::string(1000000, 'a')) == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
  // 55, 56 and 64 bytes: the padding boundaries.
  CHECK(h(std::string(55, 'a')) == "9f4390f8d30c2dd92ec9f095b65e2b9ae9b0a925a5258e241c9f1e910f734318");
  CHECK(h(std::string(56, 'a')) == "b35439a4ac6f0948b6d6f9e3c6af0f5f590ce20f1bde7090ef7970686ec6738a");
  CHECK(h(std::string(64, 'a')) == "ffe054fe7ae0cb6dc65c3af9b61d5209f439851db43d0ba5997337df154668eb");
}

TEST_CASE("harmonize: SHA-256 fed in pieces and from a file equals one pass", "[harmonize][sha256]") {
  std::mt19937 gen(3);
  std::string data(10007, '\0');
  for (char& c : data) c = static_cast<char>(gen() & 0xff);
  const std::string whole = sha256_hex(data.data(), data.size());
  Sha256 s;
  for (size_t at = 0; at < data.size();) {
    const size_t n = std::min<size_t>(gen() % 150, data.size() - at);
    s.update(data.data() + at, n);
    at += n;
  }
  CHECK(s.hex() == whole);
  const std::string dir = test::scratch_dir("harmonize_sha_file");
  std::ofstream(dir + "/f.bin", std::ios::binary) << data;
  CHECK(sha256_file(dir + "/f.bin") == whole);
  CHECK_THROWS_WITH(sha256_file(dir + "/missing.bin"), Catch::Contains("missing.bin"));
}

TEST_CASE("harmonize: output names drop .nii[.gz] and a trailing _T1w", "[harmonize]") {
  CHECK(output_stem("/a/b/sub-01_ses-2_T1w.nii.gz") == "sub-01_ses-2");
  CHECK(output_stem("IXI013-HH-1212_T1.nii.gz") == "IXI013-HH-1212_T1");
  CHECK(output_stem("patient01_study1_T1W.nii.gz") == "patient01_study1");
  CHECK(output_stem("mni.nii") == "mni");
  CHECK(output_stem("_T1w.nii.gz") == "_T1w");
  CHECK(output_file_name("x/sub-01_T1w.nii") == "sub-01_desc-harmonized_T1w.nii.gz");
}

TEST_CASE("harmonize: shards cover the sorted list exactly once", "[harmonize][shard]") {
  for (int n = 0; n <= 13; ++n) {
    std::vector<std::string> inputs;
    for (int i = n - 1; i >= 0; --i) inputs.push_back("in/v" + std::to_string(100 + i) + ".nii.gz");
    const auto jobs = make_jobs(inputs, "out");
    REQUIRE(jobs.size() == static_cast<size_t>(n));
    REQUIRE(std::is_sorted(jobs.begin(), jobs.end(), [](const auto& a, const auto& b) { return a.input < b.input; }));
    for (int64_t count = 1; count <= 5; ++count) {
      std::multiset<std::string> seen;
      size_t smallest = jobs.size(), largest = 0;
      for (int64_t i = 0; i < count; ++i) {
        const auto part = select_shard(jobs, {i, count});
        for (const auto& j : part) seen.insert(j.input);
        smallest = std::min(smallest, part.size()), largest = std::max(largest, part.size());
      }
      CHECK(seen.size() == jobs.size());
      for (const auto& j : jobs) CHECK(seen.count(j.input) == 1);
      CHECK(largest - smallest <= 1);
    }
  }
}

TEST_CASE("harmonize: --shard parsing, 0-based, and from SLURM's array variables", "[harmonize][shard]") {
  CHECK(parse_shard("0/4").index == 0);
  CHECK(parse_shard("3/4").count == 4);
  CHECK_THROWS_WITH(parse_shard("4/4"), Catch::Contains("0-based"));
  CHECK_THROWS(parse_shard("1/0"));
  CHECK_THROWS(parse_shard("-1/3"));
  CHECK_THROWS(parse_shard("1/3x"));
  CHECK_THROWS(parse_shard("one/three"));
  ::setenv("SLURM_ARRAY_TASK_ID", "7", 1);
  ::setenv("SLURM_ARRAY_TASK_MIN", "5", 1);
  ::setenv("SLURM_ARRAY_TASK_MAX", "9", 1);
  ::setenv("SLURM_ARRAY_TASK_COUNT", "5", 1);
  const Shard s = parse_shard("slurm");
  CHECK(s.index == 2);
  CHECK(s.count == 5);
  ::setenv("SLURM_ARRAY_TASK_MAX", "13", 1);  // --array=5-13:2: not contiguous
  CHECK_THROWS_WITH(parse_shard("slurm"), Catch::Contains("contiguous"));
  for (const char* v : {"SLURM_ARRAY_TASK_ID", "SLURM_ARRAY_TASK_MIN", "SLURM_ARRAY_TASK_MAX", "SLURM_ARRAY_TASK_COUNT"}) ::unsetenv(v);
  CHECK_THROWS_WITH(parse_shard("slurm"), Catch::Contains("SLURM_ARRAY_TASK_ID"));
}

TEST_CASE("harmonize: two inputs with one output name are refused", "[harmonize]") {
  CHECK_THROWS_WITH(make_jobs({"a/x_T1w.nii.gz", "b/x.nii"}, "out"), Catch::Contains("same output"));
  const auto jobs = make_jobs({"b/sub-02_T1w.nii.gz", "a/sub-01_T1w.nii.gz"}, "out", {"sub-02/anat", "sub-01/anat"});
  REQUIRE(jobs.size() == 2);
  CHECK(jobs[0].output == "out/sub-01/anat/sub-01_desc-harmonized_T1w.nii.gz");
  CHECK(jobs[0].sidecar == "out/sub-01/anat/sub-01_desc-harmonized_T1w.json");
}

TEST_CASE("harmonize: per-input masks are found by name in a folder", "[harmonize]") {
  const std::string dir = test::scratch_dir("harmonize_mask_dir");
  for (const char* f : {"IXI013-HH-1212_T1_DLMUSE.nii.gz", "sub-01_desc-brain_mask.nii.gz", "sub-02_a.nii", "sub-02_b.nii", "notes.txt"})
    std::ofstream(dir + "/" + f) << "x";
  auto jobs = make_jobs({"in/IXI013-HH-1212_T1.nii.gz", "in/sub-01_T1w.nii.gz", "in/sub-02_T1w.nii.gz", "in/sub-03_T1w.nii.gz"}, "out");
  assign_mask_dir(jobs, dir, io::MaskSpec::Kind::labels);
  CHECK(jobs[0].mask.path == dir + "/IXI013-HH-1212_T1_DLMUSE.nii.gz");
  CHECK(jobs[0].mask.kind == io::MaskSpec::Kind::labels);
  CHECK(jobs[1].mask.path == dir + "/sub-01_desc-brain_mask.nii.gz");
  CHECK_THAT(jobs[2].mask_error, Catch::Contains("several"));
  CHECK_THAT(jobs[3].mask_error, Catch::Contains("no mask"));
}

TEST_CASE("harmonize: model-sized windows cover every pixel once, gather/scatter round trip", "[harmonize][windows]") {
  for (auto [length, size] : std::vector<std::pair<int64_t, int64_t>>{{10, 16}, {16, 16}, {17, 16}, {40, 16}, {256, 192}, {31, 32}}) {
    const AxisWindows a = plan_axis_windows(length, size);
    REQUIRE(a.owner.size() == static_cast<size_t>(length));
    for (int64_t p = 0; p < length; ++p) {
      const int64_t s = a.start[static_cast<size_t>(a.owner[static_cast<size_t>(p)])];
      CHECK(p >= s);
      CHECK(p < s + size);
    }
    if (length <= size) CHECK(a.start.size() == 1);
  }
  for (auto [h, w] : std::vector<std::pair<int64_t, int64_t>>{{13, 40}, {32, 32}, {50, 20}}) {
    io::SliceStack s;
    s.n = 3, s.h = h, s.w = w;
    s.data.resize(static_cast<size_t>(s.n * h * w));
    for (size_t i = 0; i < s.data.size(); ++i) s.data[i] = static_cast<float>(i % 97) + 1.f;
    s.slice(1)[5] = 0;  // slice 2 entirely background below
    std::fill(s.slice(2), s.slice(2) + h * w, 0.0005f);
    const WindowPlan plan(s, 16, 32);
    const auto patches = plan.foreground_patches(s, 0.001f);
    CHECK(static_cast<int64_t>(patches.size()) == 2 * plan.windows_per_slice());
    io::SliceStack out = s;
    std::fill(out.data.begin(), out.data.begin() + 2 * h * w, -1.f);
    std::vector<float> buf(16 * 32);
    for (const Patch& p : patches) {
      plan.gather(s, p, buf.data());
      plan.scatter(buf.data(), p, out);
    }
    CHECK(out.data == s.data);
  }
}

TEST_CASE("harmonize: contrast codes round-trip through --save-code files bit for bit, and are checked", "[harmonize][code]") {
  const std::string dir = test::scratch_dir("harmonize_code_file");
  const std::string ck = test::make_checkpoint(dir, "m.safetensors", test::tiny_model_config(32, 32), 4.0);
  const ModelSet models = load_models(ck, Device::CPU, false);
  const TargetCode site = target_from_site(models, "site_b");
  write_target_code(dir + "/code.json", site, models, false);
  const TargetCode back = read_target_code(dir + "/code.json", models);
  REQUIRE(back.codes.at("axial").values == site.codes.at("axial").values);
  CHECK(back.codes.at("axial").sha256() == site.codes.at("axial").sha256());
  CHECK(back.provenance["kind"] == "site");
  CHECK_THROWS_WITH(write_target_code(dir + "/code.json", site, models, false), Catch::Contains("already exists"));
  CHECK_THROWS_WITH(target_from_site(models, "nowhere"), Catch::Contains("site_a, site_b"));

  // Another model (other input size: other code shape; same shape, other weights: other hash).
  const std::string other = test::make_checkpoint(dir, "o.safetensors", test::tiny_model_config(48, 32), 4.0);
  CHECK_THROWS_WITH(read_target_code(dir + "/code.json", load_models(other, Device::CPU, false)), Catch::Contains("code shape"));
  const std::string reseeded = test::make_checkpoint(dir, "r.safetensors", test::tiny_model_config(32, 32), 4.0, 9);
  CHECK_THROWS_WITH(read_target_code(dir + "/code.json", load_models(reseeded, Device::CPU, false)),
                    Catch::Contains("another model"));
  nlohmann::json j = io::read_json(dir + "/code.json");
  j["codes"]["axial"]["values"][0] = 0.123;
  io::write_json(dir + "/edited.json", j);
  CHECK_THROWS_WITH(read_target_code(dir + "/edited.json", models), Catch::Contains("sha256"));
  io::write_json(dir + "/bad.json", nlohmann::json{{"hello", 1}});
  CHECK_THROWS_WITH(read_target_code(dir + "/bad.json", models), Catch::Contains("not a contrast code file"));
}
