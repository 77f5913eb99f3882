// imunity-eval end to end on a tiny generated dataset (2 sites x 4 subjects), and the report in
// headless Chromium.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <set>
#include <sstream>

#include <unistd.h>

#include <nlohmann/json.hpp>

#include "eval/image.h"
#include "io/mask.h"
#include "io/nifti.h"
#include "support/command.h"
#include "support/paths.h"

namespace fs = std::filesystem;

namespace {


// A toy brain: WM core, GM shell, CSF centre, with a subject-specific shape and texture.
im::io::Volume anatomy(int subject, im::io::Mask& brain) {
  const im::io::Dims dim = {28, 28, 18};
  im::io::Mat4 aff = im::io::identity4();
  aff[0] = aff[5] = aff[10] = 2.0;
  im::io::Volume v = im::io::make_volume(dim, aff);
  brain.assign(v.data.size(), 0);
  std::mt19937_64 g(1000 + subject);
  std::normal_distribution<double> N(0, 0.015);
  const double wm = 0.55 + 0.04 * subject, bump = 0.08 * std::sin(subject * 1.7);
  for (int64_t z = 0; z < dim[2]; ++z)
    for (int64_t y = 0; y < dim[1]; ++y)
      for (int64_t x = 0; x < dim[0]; ++x) {
        const double dx = (x - 13.5) / 11.5, dy = (y - 13.5) / 12.5, dz = (z - 8.5) / 7.5;
        const double r = std::sqrt(dx * dx + dy * dy + dz * dz);
        if (r > 1) continue;
        const double ang = std::atan2(dy, dx);
        double val = r < wm + bump * std::cos(3 * ang + subject) ? 0.7 : 0.45;
        if (r < 0.18 + 0.03 * subject) val = 0.15;
        v.at(x, y, z) = static_cast<float>(std::max(0.02, val + N(g)));
        brain[v.index(x, y, z)] = 1;
      }
  return v;
}

im::io::Volume transformed(const im::io::Volume& a, const im::io::Mask& m, double gamma, double scale, uint64_t seed) {
  im::io::Volume v = a;
  std::mt19937_64 g(seed);
  std::normal_distribution<double> N(0, 0.01);
  for (size_t i = 0; i < v.data.size(); ++i)
    if (m[i]) v.data[i] = static_cast<float>(scale * std::max(0.0, std::pow(a.data[i], gamma) + N(g)));
  return v;
}

// <root>/before/<site>/subNN.nii.gz (+ _mask), after/<site>/subNN_desc-harmonized_T1w.nii.gz
// (identical for both sites: perfect harmonization), truth/subNN.nii.gz, participants.tsv.
void make_dataset(const fs::path& root) {
  std::ofstream tsv(root / "participants.tsv");
  tsv << "participant_id\tage\tsex\n";
  for (int s = 1; s <= 4; ++s) {
    const std::string sub = "sub0" + std::to_string(s);
    tsv << sub << "\t" << 20 + 15 * s << "\t" << (s % 2 ? "F" : "M") << "\n";
    im::io::Mask m;
    const im::io::Volume a = anatomy(s, m);
    im::io::Volume mv = a;
    for (size_t i = 0; i < mv.data.size(); ++i) mv.data[i] = m[i];
    const im::io::Volume harmonized = transformed(a, m, 1.0, 1.0, 50 + s);
    for (const auto& [site, gamma, scale] : {std::tuple{"siteA", 0.6, 1000.0}, std::tuple{"siteB", 1.6, 800.0}}) {
      fs::create_directories(root / "before" / site);
      fs::create_directories(root / "after" / site);
      im::io::write_volume((root / "before" / site / (sub + ".nii.gz")).string(), transformed(a, m, gamma, scale, static_cast<uint64_t>(7 * s + gamma * 10)));
      im::io::write_volume((root / "before" / site / (sub + "_mask.nii.gz")).string(), mv);
      im::io::write_volume((root / "after" / site / (sub + "_desc-harmonized_T1w.nii.gz")).string(), harmonized);
    }
    fs::create_directories(root / "truth");
    im::io::write_volume((root / "truth" / (sub + ".nii.gz")).string(), a);
  }
}

int run(const std::string& args, std::string* output = nullptr) {
  // One log per call and process: ctest runs test cases in parallel.
  static int calls = 0;
  fs::create_directories(fs::path(IMUNITY_BINARY_DIR) / "test-scratch");
  const std::string log = (fs::path(IMUNITY_BINARY_DIR) / "test-scratch" /
                           ("eval_cli_output_" + std::to_string(getpid()) + "_" + std::to_string(calls++) + ".txt")).string();
  const int rc = std::system((im::test::tool_path("imunity-eval") + " " + args + " > " + log + " 2>&1").c_str());
  if (output) {
    std::ifstream f(log);
    std::stringstream ss;
    ss << f.rdbuf();
    *output = ss.str();
  }
  fs::remove(log);
  return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

}  // namespace

TEST_CASE("cli: --help teaches, bad input fails with a clear message", "[cli]") {
  std::string out;
  CHECK(run("--help", &out) == 0);
  CHECK(out.find("--truth") != std::string::npos);
  CHECK(out.find("_desc-harmonized_T1w") != std::string::npos);
  CHECK(out.find("Examples") != std::string::npos);
  CHECK(run("--before /nonexistent --after /tmp --out /tmp/x", &out) != 0);
  CHECK(out.find("/nonexistent") != std::string::npos);
  const fs::path d = im::test::scratch_dir("eval_cli_bad");
  fs::create_directories(d / "before" / "s1");
  fs::create_directories(d / "after");
  std::ofstream(d / "before" / "s1" / "x.nii.gz") << "not a nifti";
  std::ofstream(d / "after" / "x.nii.gz") << "not a nifti";
  CHECK(run("--before " + (d / "before").string() + " --after " + (d / "after").string() + " --out " +
                (d / "out").string(), &out) == 1);
  CHECK(out.find("x.nii.gz") != std::string::npos);
  CHECK_FALSE(fs::exists(d / "out" / "report.html"));
}

TEST_CASE("cli: end to end on 2 sites x 4 subjects; perfect harmonization drops site accuracy to chance", "[cli]") {
  const fs::path d = im::test::scratch_dir("eval_cli_e2e");
  make_dataset(d);
  std::string out;
  const int rc = run("--before " + (d / "before").string() + " --after " + (d / "after").string() + " --truth " +
                         (d / "truth").string() + " --covariates " + (d / "participants.tsv").string() + " --out " +
                         (d / "report").string() + " --threads 2",
                     &out);
  INFO(out);
  REQUIRE(rc == 0);
  CHECK(out.find("site accuracy") != std::string::npos);
  REQUIRE(fs::exists(d / "report" / "report.html"));
  REQUIRE(fs::exists(d / "report" / "report.json"));
  for (const char* f : {"mosaic.png", "histograms_before.png", "histograms_after.png", "ssim_scatter.png", "pca_before.png",
                        "pca_after.png", "tsne_before.png", "tsne_after.png"})
    CHECK(fs::exists(d / "report" / "figures" / f));
  nlohmann::json j;
  std::ifstream(d / "report" / "report.json") >> j;
  CHECK(j["subjects"].size() == 8);
  CHECK(j["sites"] == nlohmann::json({"siteA", "siteB"}));
  const auto& sc = j["site_classification"];
  REQUIRE(sc["valid"] == true);
  CHECK(sc["before"]["accuracy"].get<double>() >= 0.85);
  CHECK(sc["after"]["accuracy"].get<double>() <= 0.6);
  CHECK(sc["after"]["auc"].get<double>() <= 0.6);
  CHECK(sc["before"]["chance_majority"].get<double>() == Approx(0.5));
  CHECK(sc["before"]["chance_uniform"].get<double>() == Approx(0.5));
  // Ground truth: the harmonized images are the truth up to noise; the raw ones are not.
  const auto& all = j["similarity_by_site"].back();
  CHECK(all["site"] == "all");
  CHECK(all["harmonized"]["ssim2d_masked"]["mean"].get<double>() > all["raw"]["ssim2d_masked"]["mean"].get<double>());
  CHECK(all["harmonized"]["ssim3d_masked"]["mean"].get<double>() > 0.9);
  CHECK(all["harmonized"]["mae_masked"]["mean"].get<double>() < all["raw"]["mae_masked"]["mean"].get<double>());
  CHECK(j["conventions"]["ssim2d_masked"].get<std::string>().find("skimage border handling") != std::string::npos);
  CHECK(j["subjects"][0]["mask"].get<std::string>().find("_mask.nii.gz") != std::string::npos);
  CHECK(j["biological"]["sex"]["valid"] == true);
  CHECK(j["biological"]["age"]["valid"] == true);
  std::ifstream h(d / "report" / "report.html");
  std::stringstream html;
  html << h.rdbuf();
  CHECK(html.str().find("data:image/png;base64,") != std::string::npos);
  CHECK(html.str().find("src=\"figures/") == std::string::npos);  // self-contained
  CHECK(html.str().find("11x11 Gaussian sigma 1.5") != std::string::npos);
  // No temporary files are left in the report folder.
  for (const auto& e : fs::recursive_directory_iterator(d / "report"))
    CHECK(e.path().filename().string().find(".tmp") == std::string::npos);
}

TEST_CASE("cli: the report renders in headless Chromium", "[cli][chromium]") {
  std::string browser;
  for (const char* c : {"chromium", "chromium-browser", "google-chrome"})
    if (std::system((std::string("command -v ") + c + " > /dev/null 2>&1").c_str()) == 0) {
      browser = c;
      break;
    }
  if (browser.empty()) FAIL("chromium is not on the PATH (nor chromium-browser, google-chrome): tools/install-deps.sh installs it");
  const fs::path d = im::test::scratch_dir("eval_cli_chromium");
  make_dataset(d);
  REQUIRE(run("--before " + (d / "before").string() + " --after " + (d / "after").string() + " --truth " +
              (d / "truth").string() + " --covariates " + (d / "participants.tsv").string() + " --out " +
              (d / "report").string() + " -q") == 0);
  const fs::path shot = d / "screenshot.png";
  const std::string cmd = "timeout 90 " + browser +
                          " --headless --no-sandbox --disable-gpu --disable-quic --no-first-run"
                          " --disable-background-networking --disable-component-update --disable-sync"
                          " --user-data-dir=" + (d / "profile").string() + " --screenshot=" + shot.string() +
                          " --window-size=1200,2000 file://" + (d / "report" / "report.html").string() +
                          " > " + (d / "chromium.log").string() + " 2>&1";
  const int rc = std::system(cmd.c_str());
  INFO("chromium exit status " << rc << ", log: " << (d / "chromium.log").string());
  REQUIRE(fs::exists(shot));
  REQUIRE(fs::file_size(shot) > 10000);
  const im::eval::Image img = im::eval::read_png(shot.string());
  CHECK(img.width == 1200);
  CHECK(img.height == 2000);
  // Not blank: many distinct colours, dark header pixels at the top, images further down.
  std::set<uint32_t> colours;
  for (int y = 0; y < img.height; y += 3)
    for (int x = 0; x < img.width; x += 3) {
      const im::eval::Color c = img.get(x, y);
      colours.insert((uint32_t(c.r) << 16) | (uint32_t(c.g) << 8) | c.b);
    }
  CHECK(colours.size() > 200);
  const im::eval::Color top = img.get(600, 20);
  CHECK(top.r + top.g + top.b < 3 * 100);
}

TEST_CASE("cli: --after-intensity as-is keeps a white-matter shift that renormalizing hides", "[cli]") {
  // imunity-harmonize writes on the model's scale already; renormalizing its outputs would erase a
  // global intensity error the model made. Here every harmonized volume is the truth at half scale.
  const fs::path d = im::test::scratch_dir("eval_cli_after_intensity");
  make_dataset(d);
  for (const auto& e : fs::recursive_directory_iterator(d / "after")) {
    if (!e.is_regular_file()) continue;
    im::io::Volume v = im::io::read_volume(e.path().string());
    for (float& x : v.data) x *= 0.5f;
    im::io::write_volume(e.path().string(), v);
  }
  const std::string common = "--before " + (d / "before").string() + " --after " + (d / "after").string() + " --truth " +
                             (d / "truth").string() + " --no-texture --no-tsne --threads 2 --out ";
  const auto mae = [&](const std::string& extra, const std::string& out_dir, std::string* scaling) {
    std::string out;
    const int rc = run(common + (d / out_dir).string() + extra, &out);
    INFO(out);
    REQUIRE(rc == 0);
    nlohmann::json j;
    std::ifstream(d / out_dir / "report.json") >> j;
    *scaling = j.dump();
    return j["similarity_by_site"].back()["harmonized"]["mae_masked"]["mean"].get<double>();
  };
  std::string renorm_json, asis_json;
  const double renorm = mae("", "renorm", &renorm_json);
  const double asis = mae(" --after-intensity as-is", "asis", &asis_json);
  INFO("MAE renormalized " << renorm << ", as-is " << asis);
  CHECK(renorm < 0.05);
  CHECK(asis > 0.15);  // half of the brain's intensities (WM at 0.7 -> 0.35) is lost
  CHECK(asis_json.find("harmonized volumes: as-is") != std::string::npos);
  CHECK(renorm_json.find("harmonized volumes:") == std::string::npos);
}
