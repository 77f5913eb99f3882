// imunity-simulate: real anatomy through virtual scanner sites -> <out>/<site>/<subject>.nii.gz + masks.
#include <CLI/CLI.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "io/error.h"
#include "io/json_io.h"
#include "io/nifti.h"
#include "io/nifti_name.h"
#include "io/simulate.h"

namespace fs = std::filesystem;
using namespace im::io;

namespace {

const char* kDescription = R"(imunity-simulate: pass real volumes through virtual scanner sites.

Each site (a JSON file, see docs/sites/) is a virtual scanner: the input, normalized inside its brain
mask (WM peak at 0.7 on [0,1]), goes through the site's monotone contrast curve, resolution loss
(blur or thick slices along one world axis), smooth multiplicative bias field, Rician noise (sigma
relative to the site's WM intensity) and global scale. Every subject thus has a ground truth on
every site.

Writes <out>/<site>/<subject>.nii.gz (on the input's grid, with its geometry) and
<out>/<site>/<subject>_mask.nii.gz, plus <out>/<site>/site.json and <out>/simulate.json.
<subject> is the input file name without .nii/.nii.gz. Results depend only on --seed, the site
name and the subject name. Existing outputs are kept unless --overwrite.

Masks: --labels-dir D takes, for subject S, the one file in D named S.nii(.gz) or S_*.nii(.gz)
(label > 0 is brain, any grid); --auto-mask (the default) uses a head/foreground mask.

Example:
  imunity-simulate --in ../shared/data/ixi_hh_2mm/t1 --labels-dir ../shared/data/ixi_hh_2mm/labels \
                   --sites docs/sites/mild.json --sites docs/sites/low_contrast.json --out sim/
)";

std::vector<fs::path> list_inputs(const std::vector<std::string>& ins) {
  std::vector<fs::path> out;
  for (const auto& in : ins) {
    if (fs::is_directory(in)) {
      std::vector<fs::path> here;
      for (const auto& e : fs::directory_iterator(in))
        if (e.is_regular_file() && has_nifti_extension(e.path().string())) here.push_back(e.path());
      if (here.empty()) fail(in, "no .nii or .nii.gz files in this folder");
      std::sort(here.begin(), here.end());
      out.insert(out.end(), here.begin(), here.end());
    } else if (fs::exists(in)) {
      out.emplace_back(in);
    } else {
      fail(in, "no such file or folder");
    }
  }
  return out;
}

fs::path find_labels(const fs::path& dir, const std::string& subject) {
  std::vector<fs::path> hits;
  for (const auto& e : fs::directory_iterator(dir)) {
    const std::string s = nifti_stem(e.path().string());
    if (e.is_regular_file() && has_nifti_extension(e.path().string()) && (s == subject || s.rfind(subject + "_", 0) == 0))
      hits.push_back(e.path());
  }
  if (hits.size() != 1)
    fail(dir.string(), std::to_string(hits.size()) + " label files match subject " + subject + " (need exactly one)");
  return hits[0];
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{kDescription, "imunity-simulate"};
  std::vector<std::string> ins, site_files;
  std::string out, labels_dir;
  uint64_t seed = 0;
  bool use_auto_mask = false, overwrite = false;
  int gzip_level = WriteOptions{}.gzip_level;
  app.add_option("--in", ins, "input volume(s) or folder(s) of volumes")->required();
  app.add_option("--sites", site_files, "site file(s): one site, an array, or {\"sites\": [...]}")->required();
  app.add_option("--out", out, "output folder")->required();
  app.add_option("--seed", seed, "random seed")->default_val(0);
  auto* l = app.add_option("--labels-dir", labels_dir, "folder of label maps (label > 0 is brain)");
  auto* a = app.add_flag("--auto-mask", use_auto_mask, "automatic head/foreground mask (default; not skull stripping)");
  l->excludes(a);
  app.add_option("--gzip-level", gzip_level, "gzip level (0-12, libdeflate)")->default_val(gzip_level)->check(CLI::Range(0, 12));
  app.add_flag("--overwrite", overwrite, "replace existing outputs");
  CLI11_PARSE(app, argc, argv);

  try {
    const auto t0 = std::chrono::steady_clock::now();
    std::vector<Site> sites;
    for (const auto& f : site_files)
      for (auto& s : read_sites(f)) sites.push_back(std::move(s));
    for (size_t i = 0; i < sites.size(); ++i)
      for (size_t j = 0; j < i; ++j)
        if (sites[i].name == sites[j].name) throw Error("two sites are named '" + sites[i].name + "'");
    const std::vector<fs::path> inputs = list_inputs(ins);
    if (!labels_dir.empty() && !fs::is_directory(labels_dir)) fail(labels_dir, "not a folder");
    // Every output is checked before any work, so a refused run leaves nothing behind.
    for (const auto& s : sites)
      for (const auto& in : inputs)
        for (const std::string suffix : {".nii.gz", "_mask.nii.gz"}) {
          const fs::path p = fs::path(out) / s.name / (nifti_stem(in.string()) + suffix);
          if (!overwrite && fs::exists(p)) fail(p.string(), "already exists (use --overwrite to replace it)");
        }
    fs::create_directories(out);
    WriteOptions wo;
    wo.gzip_level = gzip_level;
    wo.overwrite = overwrite;
    nlohmann::json record = {{"tool", "imunity-simulate"}, {"version", IMUNITY_VERSION}, {"seed", seed}, {"subjects", nlohmann::json::array()}};
    for (const auto& s : sites) {
      fs::create_directories(fs::path(out) / s.name);
      write_json((fs::path(out) / s.name / "site.json").string(), s.source, true);
    }
    for (const auto& in : inputs) {
      const std::string subject = nifti_stem(in.string());
      const Volume v = read_volume(in.string());
      std::string mask_source = "auto";
      Mask mask;
      if (!labels_dir.empty()) {
        const fs::path lp = find_labels(labels_dir, subject);
        mask = read_label_mask(v, lp.string());
        mask_source = lp.string();
      } else {
        mask = auto_mask(v);
      }
      if (mask_count(mask) == 0) fail(in.string(), "the brain mask is empty");
      Volume mv = v;
      mv.header.datatype = dtype::uint8;
      mv.header.scl_slope = 1, mv.header.scl_inter = 0, mv.header.cal_min = 0, mv.header.cal_max = 1;
      mv.header.descrip = "imunity-simulate brain mask";
      for (size_t i = 0; i < mv.data.size(); ++i) mv.data[i] = mask[i];
      for (const auto& s : sites) {
        Volume sim;
        try {
          sim = simulate_site(v, mask, s, seed, subject);
        } catch (const Error& e) {
          fail(in.string(), e.what());
        }
        WriteOptions keep = wo;
        keep.keep_datatype = true;  // the site's datatype
        write_volume((fs::path(out) / s.name / (subject + ".nii.gz")).string(), sim, keep);
        write_volume((fs::path(out) / s.name / (subject + "_mask.nii.gz")).string(), mv, keep);
      }
      record["subjects"].push_back({{"subject", subject}, {"input", in.string()}, {"mask", mask_source}});
      std::printf("imunity-simulate: %s -> %zu site(s)\n", subject.c_str(), sites.size());
    }
    record["sites"] = nlohmann::json::array();
    for (const auto& s : sites) record["sites"].push_back(s.source);
    record["seconds"] = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    write_json((fs::path(out) / "simulate.json").string(), record, true);
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "imunity-simulate: error: %s\n", e.what());
    return 1;
  }
}
