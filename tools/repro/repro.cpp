// The reproducibility run: data and sites, every held-out subject through every source site and
// every method, then site classification over all images.
#include "tools/repro/repro.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <fstream>
#include <limits>

#include "engine/device.h"
#include "eval/slice_tiles.h"
#include "eval/texture.h"
#include "io/error.h"
#include "io/n4.h"
#include "io/nifti.h"
#include "io/nifti_name.h"
#include "io/orientation.h"
#include "io/prep.h"
#include "io/simulate.h"
#include "tools/harmonize/harmonize.h"
#include "tools/repro/repro_baselines.h"

namespace fs = std::filesystem;

namespace im::tools {

namespace {

const double kNaN = std::numeric_limits<double>::quiet_NaN();
using Clock = std::chrono::steady_clock;

double since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

struct IxiFiles {
  std::vector<std::string> t1, labels;  // sorted by T1 file name; labels[i] goes with t1[i]
};

IxiFiles list_ixi(const std::string& data) {
  fs::path root = data;
  if (fs::is_directory(root / "ixi_hh_2mm" / "t1")) root /= "ixi_hh_2mm";
  if (!fs::is_directory(root / "t1") || !fs::is_directory(root / "labels"))
    io::fail(data, "no IXI data here: expected ixi_hh_2mm/t1 and ixi_hh_2mm/labels (or t1/ and labels/)");
  IxiFiles f;
  for (const auto& e : fs::directory_iterator(root / "t1"))
    if (io::has_nifti_extension(e.path().string()) && e.path().filename().string()[0] != '.') f.t1.push_back(e.path().string());
  std::sort(f.t1.begin(), f.t1.end(), [](const std::string& a, const std::string& b) {
    return fs::path(a).filename().string() < fs::path(b).filename().string();
  });
  for (const std::string& t : f.t1) {
    const fs::path l = root / "labels" / (io::nifti_stem(t) + "_DLMUSE.nii.gz");
    if (!fs::exists(l)) io::fail(t, "no label map " + l.string() + " (label > 0 is the brain mask the SSIM is computed in)");
    f.labels.push_back(l.string());
  }
  return f;
}

std::string machine_description() {
  std::ifstream in("/proc/cpuinfo");
  std::string line, model;
  int cores = 0;
  while (std::getline(in, line)) {
    if (line.rfind("processor", 0) == 0) ++cores;
    if (model.empty() && line.rfind("model name", 0) == 0) model = line.substr(line.find(':') + 2);
  }
  return (model.empty() ? "unknown CPU" : model) + ", " + std::to_string(cores) + " logical cores";
}

std::string exe_dir() {
  std::error_code ec;
  const fs::path p = fs::read_symlink("/proc/self/exe", ec);
  return ec ? "" : p.parent_path().string();
}

// How the mask given to ImUnity is described to its preprocessing (which treats automatic head masks
// differently), exactly as imunity-harmonize describes it.
std::string model_mask_source(bool automatic, const std::string& labels) {
  io::MaskSpec spec;
  if (!automatic) spec.kind = io::MaskSpec::Kind::labels, spec.path = labels;
  return spec.describe();
}

// Every method gives a whole image (the baselines map every voxel), so that SSIM windows at the
// brain's border compare like with like: the detail stage maps the voxels outside the ImUnity mask
// too, the decoder stage keeps them (normalized input).
HarmonizeOptions detail_options(const ReproOptions& o) {
  HarmonizeOptions h = o.harmonize;
  h.output = OutputStage::detail, h.outside = Outside::map;
  return h;
}
HarmonizeOptions decoder_options(const ReproOptions& o) {
  HarmonizeOptions h = o.harmonize;
  h.output = OutputStage::decoder, h.outside = Outside::keep;
  return h;
}

// What every subject shares: sites, models, targets, the reference image's brain intensities.
struct Context {
  const ReproOptions* o = nullptr;
  std::vector<io::Site> sites;  // per source; [0] unused (the reference is the real image)
  const ModelSet* models = nullptr;
  TargetCode site_target, image_target;
  std::vector<double> reference_values;  // WM-peak normalized brain voxels of the reference image
  std::vector<double> reference_values_n4;  // the same after N4 (the N4 + histogram matching reference)
  eval::SsimOptions ssim;
  eval::RadiomicsOptions radiomics;
};

ReproCell score(const io::Volume& out, const io::Volume& truth, const io::Mask& brain, const std::vector<double>& truth_values,
                const Context& c) {
  ReproCell cell;
  const std::vector<double> map = eval::ssim_map(out.data.data(), truth.data.data(), out.dim, 2, c.ssim);
  cell.ssim = eval::slice_means(map, out.dim, &brain, true, c.ssim).mean;
  cell.ssim_image = eval::slice_means(map, out.dim, &brain, false, c.ssim).mean;
  cell.mae = eval::mae(out, truth, &brain);
  const std::vector<double> values = eval::masked_values(out, &brain);
  cell.w1_truth = eval::wasserstein1(values, truth_values);
  cell.w1_reference = eval::wasserstein1(values, c.reference_values);
  cell.texture_lag1 = eval::through_slice_detail_correlation(out, brain, 1);
  cell.texture_lag10 = eval::through_slice_detail_correlation(out, brain, 10);
  return cell;
}

ReproSubject process_subject(const std::string& t1, const std::string& labels, const Context& c, bool mosaic,
                             ReproResults& R) {
  const ReproOptions& o = *c.o;
  ReproSubject s;
  s.key = io::nifti_stem(t1);
  s.path = t1;
  const io::Volume v = io::read_volume(t1);
  const io::Mask brain = io::read_label_mask(v, labels);
  s.brain_voxels = io::mask_count(brain);
  if (s.brain_voxels == 0) io::fail(labels, "the brain mask is empty on the T1 grid");
  // The ground truth: the real image on the reference site, WM-peak normalized in its brain mask.
  io::Reorientation ro;
  const io::Volume truth = io::to_canonical(normalize_in_mask(v, brain, io::NormMethod::wm_peak), &ro);
  const io::Mask brain_c = ro.forward(brain);
  const std::vector<double> truth_values = eval::masked_values(truth, &brain_c);
  const int64_t z = eval::mosaic_slice(brain_c, truth.dim);

  const size_t S = c.sites.size();
  s.cells.assign(S, std::vector<ReproCell>(kMethodCount));
  s.features.assign(S, std::vector<std::vector<double>>(kMethodCount));
  s.seconds.assign(S, std::vector<double>(kMethodCount, 0.0));
  for (size_t k = 0; k < S; ++k) {
    const io::Volume src = k == 0 ? v : io::simulate_site(v, brain, c.sites[k], o.seed, s.key);
    std::vector<io::Volume> out(kMethodCount);
    auto timed = [&](int m, auto&& f) {
      const auto t0 = Clock::now();
      out[m] = f();
      s.seconds[k][m] = since(t0);
    };
    timed(kNone, [&] { return rescale_unit(src, brain); });
    timed(kWmPeak, [&] { return normalize_in_mask(src, brain, io::NormMethod::wm_peak); });
    timed(kWhiteStripe, [&] { return normalize_in_mask(src, brain, io::NormMethod::white_stripe); });
    timed(kHistMatch, [&] { return match_histogram(out[kWmPeak], brain, c.reference_values); });
    timed(kN4HistMatch, [&] { return match_histogram(n4_normalize_in_mask(src, brain), brain, c.reference_values_n4); });
    {
      const auto t0 = Clock::now();
      const bool auto_mask = o.model_mask != "brain";
      const PreparedInput p =
          prepare_input(src, auto_mask ? io::auto_mask(src) : brain, *c.models, model_mask_source(auto_mask, labels));
      const double prep = since(t0);
      for (int m : {kImUnitySite, kImUnityImage}) {
        const auto t1m = Clock::now();
        const TargetCode& target = m == kImUnitySite ? c.site_target : c.image_target;
        const NetworkResult r = harmonize_prepared(*c.models, target, p.prepared, o.harmonize);
        out[m] = finish_output(p, r, detail_options(o));
        s.seconds[k][m] = prep + since(t1m);
        if (m == kImUnitySite) {  // the decoder output under the site code: the paper's image (its own
          // run: the detail stage renders only every map_slice_step-th slice)
          const auto t2 = Clock::now();
          const NetworkResult decoder = harmonize_prepared(*c.models, target, p.prepared, decoder_options(o));
          out[kImUnityDecoder] = finish_output(p, decoder, decoder_options(o));
          s.seconds[k][kImUnityDecoder] = prep + since(t2);
        }
      }
    }
    for (int m = 0; m < kMethodCount; ++m)
      if (out[m].dim != v.dim || out[m].affine != v.affine)
        io::fail(t1, std::string(repro_method(m).key) + " did not keep the input's grid at site " + R.sources[k].name);
    // One method per thread: the metrics' own parallel loops are short (one per slice), and on a
    // shared machine their barriers cost more than they save.
    std::vector<std::string> errors(kMethodCount);
#pragma omp parallel for schedule(dynamic)
    for (int m = 0; m < kMethodCount; ++m) {
      try {
        const io::Volume oc = io::to_canonical(out[m]);
        s.cells[k][m] = score(oc, truth, brain_c, truth_values, c);
        s.features[k][m] = eval::radiomic_features(oc, brain_c, c.radiomics).values;
        if (mosaic) {
          char cap[32];
          std::snprintf(cap, sizeof cap, "%.3f", s.cells[k][m].ssim);
          R.mosaic[k][m] = eval::axial_tile(oc, z, 0, 1, cap);
        }
      } catch (const std::exception& e) {
        errors[m] = e.what();
      }
    }
    for (int m = 0; m < kMethodCount; ++m)
      if (!errors[m].empty())
        io::fail(t1, "scoring " + std::string(repro_method(m).key) + " at site " + R.sources[k].name + ": " + errors[m]);
  }
  if (mosaic)
    for (size_t k = 0; k < S; ++k) R.mosaic[k][kMethodCount] = eval::axial_tile(truth, z, 0, 1, "truth");
  return s;
}

// The first test subject's real image towards every site code of the model, both output stages.
void probe_site_codes(const std::string& t1, const std::string& labels, const Context& c, ReproResults& R) {
  const io::Volume v = io::read_volume(t1);
  const io::Mask brain = io::read_label_mask(v, labels);
  const bool auto_mask = c.o->model_mask != "brain";
  const PreparedInput p = prepare_input(v, auto_mask ? io::auto_mask(v) : brain, *c.models, model_mask_source(auto_mask, labels));
  R.site_code_subject = io::nifti_stem(t1);
  std::vector<io::Volume> dec, det;
  for (const std::string& site : R.model_sites) {
    const TargetCode target = target_from_site(*c.models, site);
    const NetworkResult r = harmonize_prepared(*c.models, target, p.prepared, detail_options(*c.o));
    const NetworkResult d = harmonize_prepared(*c.models, target, p.prepared, decoder_options(*c.o));
    dec.push_back(finish_output(p, d, decoder_options(*c.o)));
    det.push_back(finish_output(p, r, detail_options(*c.o)));
  }
  const auto ref = std::find(R.model_sites.begin(), R.model_sites.end(), c.o->reference) - R.model_sites.begin();
  for (size_t k = 0; k < R.model_sites.size(); ++k) {
    ReproSiteCode sc;
    sc.site = R.model_sites[k];
    for (int stage = 0; stage < 2; ++stage) {
      const std::vector<io::Volume>& outs = stage ? det : dec;
      std::vector<double> vals = eval::masked_values(outs[k], &brain);
      std::sort(vals.begin(), vals.end());
      double* q = stage ? sc.detail_q : sc.decoder_q;
      for (int i = 0; i < 3; ++i) q[i] = vals.empty() ? 0 : vals[static_cast<size_t>((i + 1) * 0.25 * (vals.size() - 1))];
      double mad = 0;
      int64_t n = 0;
      for (size_t i = 0; i < brain.size(); ++i)
        if (brain[i]) mad += std::abs(outs[k].data[i] - outs[static_cast<size_t>(ref)].data[i]), ++n;
      (stage ? sc.detail_mad : sc.decoder_mad) = n ? mad / static_cast<double>(n) : 0;
    }
    R.site_codes.push_back(sc);
  }
}

void classify_sites(ReproResults& R) {
  const auto& subs = R.subjects;
  const int S = static_cast<int>(R.sources.size());
  if (subs.empty() || subs[0].features.empty()) return;
  const size_t nf = subs[0].features[0][0].size();
  for (size_t f = 0; f < nf; ++f) {
    bool ok = true;
    for (const auto& s : subs)
      for (const auto& per_source : s.features)
        for (const auto& x : per_source) ok = ok && std::isfinite(x[f]);
    if (ok) R.feature_columns.push_back(static_cast<int>(f));
  }
  if (R.feature_columns.empty()) {
    R.site_note = "no radiomic feature is finite for every image";
    return;
  }
  std::vector<int> y, groups;
  std::vector<eval::Matrix> X(kMethodCount);
  for (size_t i = 0; i < subs.size(); ++i)
    for (int k = 0; k < S; ++k) {
      y.push_back(k);
      groups.push_back(static_cast<int>(i));  // one anatomy at every site: all in one fold
      for (int m = 0; m < kMethodCount; ++m) {
        std::vector<double> row;
        for (int f : R.feature_columns) row.push_back(subs[i].features[k][m][f]);
        X[m].push_back(std::move(row));
      }
    }
  // Selected on the images before any harmonization (the paper's protocol), then fixed for all.
  R.site_selection = eval::select_features(X[kNone], y, R.options.alpha);
  for (int m = 0; m < kMethodCount; ++m)
    R.site_accuracy.push_back(eval::cross_validate_classifier(eval::select_columns(X[m], R.site_selection.index), y, S,
                                                              R.options.svm, R.options.cv, &groups));
  R.site_task = R.site_accuracy[kNone].valid;
  if (!R.site_task) R.site_note = R.site_accuracy[kNone].note;
}

}  // namespace

const ReproMethodInfo& repro_method(int m) {
  static const ReproMethodInfo kInfo[kMethodCount] = {
      {"none", "No harmonization (raw, rescaled)",
       "intensities only rescaled to [0,1]: [0, P99.5 of the brain] -> [0,1], clipped; no WM alignment"},
      {"wm_peak", "WM-peak normalization", "io::fit_normalization wm-peak in the brain mask: WM peak at 0.7, clipped to [0,1]"},
      {"white_stripe", "White-Stripe normalization",
       "White-Stripe (Shinohara 2014) in the brain mask, stripe mean at 0.7, clipped to [0,1]"},
      {"histogram_matching", "Histogram matching",
       "WM-peak normalized source matched by quantiles (1001 landmarks) of its brain voxels to the brain voxels of "
       "the reference image (another subject of the reference site), applied to every voxel, clipped to [0,1]"},
      {"n4_histogram_matching", "N4 + histogram matching",
       "N4 bias-field correction in the brain mask (io/n4.h, its defaults: docs/n4.md), then the histogram matching "
       "above, to the reference image after the same N4"},
      {"imunity_decoder", "ImUnity decoder output (site code)",
       "the paper's harmonized image: imunity-harmonize --output decoder towards the checkpoint's stored code of the "
       "reference site (the decoder's rendering of the anatomy code, resampled to the input grid)"},
      {"imunity_site", "ImUnity (site code)",
       "imunity-harmonize's default detail-preserving output towards the checkpoint's stored code of the reference site: "
       "the input's own voxels through a monotone map: the mean of the map fitted between the decoder's renderings under "
       "the input's own code and under the target code, and histogram matching of the input's brain to the site's "
       "stored brain intensities (--network-weight sets the network's share; 1 when the checkpoint has none); an input "
       "detected as acquired in thick slices is first restored by the thick-slice network (--thick-slices auto)"},
      {"imunity_image", "ImUnity (reference image)",
       "the same detail-preserving output towards the reference image (another subject of the reference site): its mean "
       "contrast code and its brain intensities"}};
  return kInfo[m];
}

std::string find_site_file(const std::string& name, const std::string& sites_dir) {
  if (fs::is_regular_file(name)) return name;
  const std::string file = name + ".json";
  if (!sites_dir.empty()) {
    const fs::path p = fs::path(sites_dir) / file;
    if (!fs::is_regular_file(p)) io::fail(p.string(), "no such site file (site \"" + name + "\")");
    return p.string();
  }
  // The working folder (the repository root), then the source tree above a build folder's tools/
  // or tests/, then an installed share/imunity/sites.
  std::vector<fs::path> tried{fs::path("docs/sites") / file};
  const std::string exe = exe_dir();
  if (!exe.empty())
    for (const char* rel : {"../docs/sites", "../../docs/sites", "../share/imunity/sites"}) tried.push_back(fs::path(exe) / rel / file);
  std::string list;
  for (const fs::path& p : tried) {
    if (fs::is_regular_file(p)) return fs::weakly_canonical(p).string();
    list += (list.empty() ? "" : ", ") + p.string();
  }
  throw io::Error("site \"" + name + "\": no site file found (tried " + list + "); give --sites-dir or a path to the JSON");
}

ReproResults run_repro(const ReproOptions& o, const ReproProgress& progress) {
  const auto t0 = Clock::now();
  auto say = [&](const std::string& m) {
    if (progress) progress(m);
  };
  ReproResults R;
  R.options = o;
  if (!io::n4_available())
    throw io::Error("imunity-repro needs N4 for its \"N4 + histogram matching\" baseline, and this build has no ITK");
  if (o.subjects < 2) throw io::Error("--subjects must be at least 2 (mean and sd over subjects)");
  if (o.model_mask != "auto" && o.model_mask != "brain") throw io::Error("--model-mask must be auto or brain");
  const IxiFiles ixi = list_ixi(o.data);
  const int ref_index = o.reference_subject >= 0 ? o.reference_subject : o.subjects;
  if (static_cast<int>(ixi.t1.size()) <= std::max(o.subjects - 1, ref_index))
    io::fail(o.data, "only " + std::to_string(ixi.t1.size()) + " IXI subjects: " + std::to_string(o.subjects) +
                         " test subjects and the reference subject " + std::to_string(ref_index + 1) + " do not fit");
  if (ref_index < o.subjects)
    io::fail(ixi.t1[ref_index], "the reference image must not be one of the test subjects (--reference-subject >= --subjects)");

  // The test subjects must be new to the model: checked against its training manifest when given.
  R.held_out = "assumed (the first " + std::to_string(o.subjects) + " IXI subjects; give --training-manifest to check)";
  if (!o.training_manifest.empty()) {
    std::vector<std::string> test_keys;
    for (int i = 0; i < o.subjects; ++i) test_keys.push_back(eval::subject_key(ixi.t1[i]));
    int rows = 0;
    for (const auto& row : eval::read_tsv(o.training_manifest)) {
      const auto it = row.find("path");
      if (it == row.end()) io::fail(o.training_manifest, "no \"path\" column");
      ++rows;
      const std::string key = eval::subject_key(it->second);
      if (std::find(test_keys.begin(), test_keys.end(), key) != test_keys.end())
        io::fail(o.training_manifest, "test subject " + key + " was used in training (" + it->second +
                                          "): the reproducibility run needs subjects the model never saw");
    }
    R.held_out = "checked: none of the " + std::to_string(o.subjects) + " test subjects is among the " + std::to_string(rows) +
                 " volumes of " + o.training_manifest;
  }

  // Models and targets.
  const Device dev = parse_device(o.device);
  R.device_description = device_description(dev);
  R.machine = machine_description();
  say("loading " + o.model + " on " + R.device_description);
  ModelSet models = load_models(o.model, dev, false);
  models.prep.n4 = harmonize_n4(o.n4, models.prep.n4);
  const HarmonizeModel& am = models.axial();
  R.model_sha256 = am.sha256;
  R.model_step = am.info.step;
  for (const auto& [name, code] : am.info.site_codes) R.model_sites.push_back(name);
  char summary[160];
  std::snprintf(summary, sizeof summary, "%dx%d axial, %.3g mm, %s normalization, inputs %s", am.info.model.image_w,
                am.info.model.image_h, models.prep.voxel_size, io::norm_name(models.prep.norm.method),
                models.prep.n4 ? "N4-corrected" : "not bias-corrected");
  R.model_summary = summary;
  auto in_checkpoint = [&](const std::string& n) {
    return std::find(R.model_sites.begin(), R.model_sites.end(), n) != R.model_sites.end();
  };

  // Sources: the reference site itself, then the seen and unseen virtual sites.
  Context c;
  c.o = &o;
  R.sources.push_back({o.reference, "reference", in_checkpoint(o.reference), "", "the real IXI-HH image (the ground truth itself)"});
  c.sites.emplace_back();
  for (const auto* group : {&o.seen, &o.unseen})
    for (const std::string& name : *group) {
      const std::string file = find_site_file(name, o.sites_dir);
      io::Site site = io::read_sites(file).at(0);
      const std::string g = group == &o.seen ? "seen" : "unseen";
      for (const ReproSource& s : R.sources)
        if (s.name == site.name) throw io::Error("site \"" + site.name + "\" is listed twice");
      R.sources.push_back({site.name, g, in_checkpoint(site.name), file, site.description});
      if (g == "seen" && !R.sources.back().in_checkpoint)
        R.warnings.push_back("site " + site.name + " is listed as seen but the checkpoint has no site of that name");
      if (g == "unseen" && R.sources.back().in_checkpoint)
        R.warnings.push_back("site " + site.name + " is listed as unseen but the checkpoint was trained on a site of that name");
      c.sites.push_back(std::move(site));
    }
  c.site_target = target_from_site(models, o.reference);
  c.models = &models;

  // The reference image: another subject of the reference site.
  R.reference_image = ixi.t1[ref_index];
  {
    const io::Volume ref = io::read_volume(R.reference_image);
    const io::Mask ref_brain = io::read_label_mask(ref, ixi.labels[ref_index]);
    c.reference_values = eval::masked_values(normalize_in_mask(ref, ref_brain, io::NormMethod::wm_peak), &ref_brain);
    c.reference_values_n4 = eval::masked_values(n4_normalize_in_mask(ref, ref_brain), &ref_brain);
    const bool auto_mask = o.model_mask != "brain";
    c.image_target = target_from_volume(models, ref, auto_mask ? io::auto_mask(ref) : ref_brain, R.reference_image,
                                        model_mask_source(auto_mask, ixi.labels[ref_index]));
  }
  R.ssim_convention = eval::ssim_convention(2, true, c.ssim, "");
  R.truth_convention =
      "the real IXI-HH image of the same subject, WM-peak normalized inside its brain mask (IXI DLMUSE labels > 0): "
      "[0,1] with the WM peak at 0.7, clipped; compared in canonical RAS orientation";
  R.feature_names = eval::radiomic_feature_names(c.radiomics);

  const int S = static_cast<int>(R.sources.size());
  R.mosaic.assign(S, std::vector<eval::Tile>(kMethodCount + 1));
  for (const ReproSource& s : R.sources) R.mosaic_rows.push_back(s.name);
  for (int m = 0; m < kMethodCount; ++m) R.mosaic_columns.push_back(repro_method(m).label);
  R.mosaic_columns.push_back("truth");
  for (int i = 0; i < o.subjects; ++i) {
    const auto ts = Clock::now();
    R.subjects.push_back(process_subject(ixi.t1[i], ixi.labels[i], c, i == 0, R));
    char line[256];
    std::snprintf(line, sizeof line, "subject %d/%d %s: %d sources x %d methods in %.1f s (total %.0f s)", i + 1, o.subjects,
                  R.subjects.back().key.c_str(), S, static_cast<int>(kMethodCount), since(ts), since(t0));
    say(line);
  }
  say("the first test subject towards every site code of the model");
  probe_site_codes(ixi.t1[0], ixi.labels[0], c, R);
  if (o.classification) {
    say("site classification (radiomic features, RBF SVM, cross-validation grouped by subject)");
    classify_sites(R);
  } else {
    R.site_note = "not run (--no-classification)";
  }
  R.seconds = since(t0);
  return R;
}

}  // namespace im::tools
