// imunity-bench-n4: N4 bias-field correction, quality against time, for choosing the default fit
// grid and schedule: 2 mm IXI volumes and the 1 mm Siemens MPRAGE with a known synthetic bias field.
#include <CLI/CLI.hpp>

#include <omp.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <sstream>

#include "benchmarks/machine.h"
#include "benchmarks/timing.h"
#include "io/mask.h"
#include "io/n4.h"
#include "io/nifti.h"
#include "io/simulate.h"

namespace fs = std::filesystem;
using namespace im;
using bench::load_average;

namespace {

std::string machine() { return bench::cpu_model() + ", " + std::to_string(sysconf(_SC_NPROCESSORS_ONLN)) + " cores online"; }


// One volume with a known multiplicative field: `biased` = site(input) with the field `log_truth`,
// `clean` = the same site (contrast, noise) without it. N4 also finds the input's own field, so the
// recovered field is N4's field on `biased` over its field on `clean` (same options).
struct Case {
  std::string name;
  io::Volume biased, clean;
  io::Mask mask;    // what N4 fits on and where the field is scored (the brain; the head for the MPRAGE)
  io::Mask wm;      // lobar white matter (IXI labels); empty when unknown
  std::vector<double> log_truth;
};

struct Score {
  double corr = 0, resid = 0, wm_cv = 0;
};

// Coefficient of variation (%) of `v` over `m`.
double cv(const io::Volume& v, const io::Mask& m) {
  double s = 0, q = 0, k = 0;
  for (size_t i = 0; i < v.data.size(); ++i)
    if (m[i]) s += v.data[i], q += double(v.data[i]) * v.data[i], k += 1;
  s /= k;
  return 100 * std::sqrt(std::max(0.0, q / k - s * s)) / s;
}

// Correlation and residual (SD of the log ratio, in %) between the recovered field and the true one
// over `c.mask`; WM coefficient of variation of the corrected biased volume. Uncorrected volumes
// (no correction) recover a constant field.
Score score(const Case& c, const io::Volume& out_biased, const io::Volume& out_clean) {
  double n = 0, se = 0, st = 0, see = 0, stt = 0, set = 0;
  for (size_t i = 0; i < c.log_truth.size(); ++i) {
    if (!c.mask[i] || !(c.biased.data[i] > 0) || !(c.clean.data[i] > 0) || !(out_biased.data[i] > 0) || !(out_clean.data[i] > 0)) continue;
    const double e = std::log(double(c.biased.data[i]) / out_biased.data[i]) - std::log(double(c.clean.data[i]) / out_clean.data[i]);
    const double t = c.log_truth[i];
    n += 1, se += e, st += t, see += e * e, stt += t * t, set += e * t;
  }
  Score s;
  const double ce = see - se * se / n, ct = stt - st * st / n, cet = set - se * st / n;
  s.corr = ce > 0 && ct > 0 ? cet / std::sqrt(ce * ct) : 0;
  s.resid = 100 * std::sqrt(std::max(0.0, (ce + ct - 2 * cet) / n));
  s.wm_cv = c.wm.empty() ? 0 : cv(out_biased, c.wm);
  return s;
}

Case make_case(const std::string& name, const io::Volume& v, const io::Mask& mask, const io::Mask& wm, const io::Site& site) {
  Case c;
  c.name = name;
  io::SimulationDetail d;
  c.biased = io::simulate_site(v, mask, site, 7, name, &d);
  io::Site flat = site;
  flat.bias = io::BiasSpec{};
  c.clean = io::simulate_site(v, mask, flat, 7, name);  // the same noise: its stream does not depend on the field
  c.mask = mask, c.wm = wm;
  c.log_truth.resize(d.bias.size());
  for (size_t i = 0; i < d.bias.size(); ++i) c.log_truth[i] = std::log(double(d.bias[i]));
  return c;
}

// Lobar white matter of the MUSE labels (81-88: frontal, occipital, parietal, temporal WM).
io::Mask wm_mask(const io::Volume& grid, const std::string& labels_path) {
  io::Volume l = io::read_volume(labels_path);
  for (float& x : l.data) x = (x >= 81 && x <= 88) ? 1.f : 0.f;
  return io::mask_from_volume(grid, l, 0.5f);
}

struct Config {
  std::string shrink;  // "1".."4" fixed factor, or "4mm" for the fit size
  std::string iterations;
  double convergence = 1e-3;
  double spline_mm = 200;
};

io::N4Options options(const Config& c) {
  io::N4Options o;
  if (c.shrink.find("mm") != std::string::npos) {
    o.shrink = 0, o.fit_mm = std::stod(c.shrink);
  } else {
    o.shrink = std::stoi(c.shrink);
  }
  o.iterations = io::parse_n4_iterations(c.iterations);
  o.convergence = c.convergence;
  o.spline_distance_mm = c.spline_mm;
  return o;
}

bool is_default(const io::N4Options& o) {
  const io::N4Options d;
  return o.shrink == d.shrink && o.fit_mm == d.fit_mm && o.iterations == d.iterations && o.convergence == d.convergence &&
         o.spline_distance_mm == d.spline_distance_mm;
}

std::vector<Config> parse_configs(const std::string& list) {
  std::vector<Config> out;
  std::stringstream ss(list);
  for (std::string item; std::getline(ss, item, ',');) {
    // SHRINK:ITERATIONS[:CONVERGENCE[:SPLINE_MM]], e.g. 2:50x50x50x50 or 4mm:50x50x30:0:100
    std::vector<std::string> f;
    std::stringstream fs(item);
    for (std::string t; std::getline(fs, t, ':');) f.push_back(t);
    if (f.size() < 2 || f.size() > 4) throw std::runtime_error("config '" + item + "' is not SHRINK:ITERATIONS[:CONVERGENCE[:SPLINE_MM]]");
    Config c;
    c.shrink = f[0], c.iterations = f[1];
    if (f.size() > 2) c.convergence = std::stod(f[2]);
    if (f.size() > 3) c.spline_mm = std::stod(f[3]);
    out.push_back(c);
  }
  return out;
}

// One table: every config on every case; the reference config's time is the ratios' denominator.
// Times are per volume (the N4 of `biased`; `clean` is corrected too, for the score, not timed).
void run_table(const std::string& title, const std::vector<Case>& cases, const std::vector<Config>& configs, size_t reference) {
  const bool wm = !cases[0].wm.empty();
  auto pct = [&](double x) { return wm ? std::to_string(x).substr(0, 5) : std::string("-"); };
  std::printf("\n%s\n\n", title.c_str());
  std::printf("| fit grid | iterations (run) | convergence | first B-spline span | recovered-field correlation (mean, min) | residual field SD %% | WM CV %% | s per volume (median; CPU s) | time / reference |\n");
  std::printf("|---|---|---|---|---|---|---|---|---|\n");
  Score none;
  double clean_cv = 0;
  for (const Case& c : cases) {
    const Score s = score(c, c.biased, c.clean);
    none.resid += s.resid / double(cases.size()), none.wm_cv += s.wm_cv / double(cases.size());
    if (wm) clean_cv += cv(c.clean, c.wm) / double(cases.size());
  }
  std::printf("| no correction | | | | 0 | %.2f | %s (without the field: %s) | 0 | |\n", none.resid, pct(none.wm_cv).c_str(), pct(clean_cv).c_str());
  std::fflush(stdout);
  std::vector<std::string> rows(configs.size());
  std::vector<double> times(configs.size());
  for (size_t k = 0; k < configs.size(); ++k) {
    const io::N4Options o = options(configs[k]);
    double corr = 0, corr_min = 1, resid = 0, wm_cv = 0;
    std::vector<double> secs, cpu;
    std::string grid, runs;
    for (const Case& c : cases) {
      io::N4Info info;
      const std::clock_t c0 = std::clock();
      const io::Volume out = io::n4_correct(c.biased, c.mask, o, &info);
      cpu.push_back(double(std::clock() - c0) / CLOCKS_PER_SEC);
      secs.push_back(info.seconds);
      const Score s = score(c, out, io::n4_correct(c.clean, c.mask, o));
      corr += s.corr / double(cases.size()), corr_min = std::min(corr_min, s.corr);
      resid += s.resid / double(cases.size()), wm_cv += s.wm_cv / double(cases.size());
      grid = std::to_string(info.fit_dim[0]) + "x" + std::to_string(info.fit_dim[1]) + "x" + std::to_string(info.fit_dim[2]) + " (shrink " +
             std::to_string(info.shrink[0]) + "," + std::to_string(info.shrink[1]) + "," + std::to_string(info.shrink[2]) + ")";
      runs.clear();
      for (size_t l = 0; l < info.iterations_run.size(); ++l) runs += (l ? "x" : "") + std::to_string(info.iterations_run[l]);
    }
    times[k] = bench::median(secs);
    char buf[512];
    std::snprintf(buf, sizeof buf, "| %s | %s (%s) | %g | %g mm | %.3f, %.3f | %.2f | %s | %.2f (%.2f) |", grid.c_str(), configs[k].iterations.c_str(),
                  runs.c_str(), configs[k].convergence, configs[k].spline_mm, corr, corr_min, resid, pct(wm_cv).c_str(), times[k], bench::median(cpu));
    rows[k] = buf;
    std::fprintf(stderr, "  %s\n", buf);
  }
  for (size_t k = 0; k < configs.size(); ++k)
    std::printf("%s %.2f%s%s |\n", rows[k].c_str(), times[k] / times[reference], k == reference ? " (reference: ANTs' defaults)" : "",
                is_default(options(configs[k])) ? " **default**" : "");
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"imunity-bench-n4: N4 bias-field correction, quality against time (2 mm IXI and the 1 mm MPRAGE with a known bias field)",
               "imunity-bench-n4"};
  std::string data = "../shared/data", site_path = "docs/sites/bias_heavy.json";
  // The first of each list is the reference of the time ratios: ANTs' N4 defaults (shrink 4 voxels,
  // 50x50x50x50 iterations, convergence 0, 200 mm B-spline spans at the first level).
  std::string configs_2mm =
      "4:50x50x50x50:0:200,2:50x50x50x50:0:200,8mm:50x50x50x50,6mm:50x50x50x50,4mm:50x50x50x50,6mm:30x30x30x30,"
      "6mm:20x20x20x20,6mm:50x50x50x50x50,6mm:50x50x50:0.001:100,6mm:75x75x50:0.001:100,4mm:75x75x50:0.001:100,"
      "8mm:75x75x50:0.001:100";
  std::string configs_1mm = "4:50x50x50x50:0:200,6mm:50x50x50x50,6mm:75x75x50:0.001:100,4mm:75x75x50:0.001:100,8mm:75x75x50:0.001:100";
  int subjects = 4, threads = 2;
  app.add_option("--data", data, "the shared data folder")->capture_default_str();
  app.add_option("--site", site_path, "the virtual site whose bias field is applied")->capture_default_str();
  app.add_option("--subjects", subjects, "2 mm IXI subjects (with labels)")->capture_default_str();
  app.add_option("--threads", threads, "OpenMP (and so ITK) threads")->capture_default_str();
  app.add_option("--configs-2mm", configs_2mm, "SHRINK:ITERATIONS[:CONVERGENCE],... (SHRINK: a factor, or e.g. 4mm; the first is the reference)")
      ->capture_default_str();
  app.add_option("--configs-1mm", configs_1mm, "the same for the MPRAGE (empty: skip it)")->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  try {
    if (!io::n4_available()) throw std::runtime_error("this build has no ITK: N4 is unavailable");
    omp_set_num_threads(threads);
    const io::Site site = io::read_sites(site_path).at(0);
    std::printf("imunity-bench-n4: machine: %s; %d threads; load average %.1f at start (shared machine)\n", machine().c_str(), threads,
                load_average());
    std::printf("bias field: site %s (%s)\n", site.name.c_str(), site.description.c_str());

    std::vector<Case> ixi;
    const std::string t1 = data + "/ixi_hh_2mm/t1", labels = data + "/ixi_hh_2mm/labels";
    std::vector<std::string> files;
    for (const auto& e : fs::directory_iterator(t1)) files.push_back(e.path().filename().string());
    std::sort(files.begin(), files.end());
    for (int i = 0; i < subjects && i < int(files.size()); ++i) {
      const std::string stem = files[i].substr(0, files[i].find("_T1"));
      const io::Volume v = io::read_volume(t1 + "/" + files[i]);
      const std::string lab = labels + "/" + stem + "_T1_DLMUSE.nii.gz";
      const io::Mask brain = io::read_label_mask(v, lab);
      ixi.push_back(make_case(stem, v, brain, wm_mask(v, lab), site));
    }
    run_table("2 mm IXI (" + std::to_string(ixi.size()) + " subjects, 120x120x90, N4 inside the brain mask from the labels):", ixi,
              parse_configs(configs_2mm), 0);

    if (!configs_1mm.empty()) {
      const std::string mprage = data + "/unseen_scanners/siemens_trio_mprage.nii.gz";
      const io::Volume v = io::read_volume(mprage);
      const io::Mask head = io::auto_mask(v);
      const std::vector<Case> cases = {make_case("mprage", v, head, {}, site)};
      run_table("1 mm Siemens MPRAGE (176x256x256, N4 inside the automatic head mask, scored there):", cases,
                parse_configs(configs_1mm), 0);
    }
    std::printf("\nload average %.1f at end\n", load_average());
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "imunity-bench-n4: error: %s\n", e.what());
    return 1;
  }
}
