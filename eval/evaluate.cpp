// The evaluation pipeline: per-subject work in parallel, then the analyses over all subjects.
#include "eval/evaluate.h"

#include <omp.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <limits>
#include <map>
#include <mutex>

#include "eval/slice_tiles.h"
#include "io/error.h"
#include "io/mask.h"
#include "io/nifti.h"
#include "io/orientation.h"

namespace im::eval {

namespace {

const double kNaN = std::numeric_limits<double>::quiet_NaN();

std::string dims_str(const io::Dims& d) {
  return std::to_string(d[0]) + "x" + std::to_string(d[1]) + "x" + std::to_string(d[2]);
}

std::string describe_scaling(io::NormMethod m) {
  switch (m) {
    case io::NormMethod::wm_peak:
      return "wm-peak (each volume rescaled inside its brain mask to [0,1], WM peak at 0.7, clipped)";
    case io::NormMethod::white_stripe:
      return "white-stripe (each volume mapped inside its brain mask onto [0,1], stripe mean at 0.7, clipped)";
    case io::NormMethod::none: break;
  }
  return "as-is (voxels used unchanged; expected on the [0,1] scale)";
}

void scale_intensity(io::Volume& v, const io::Mask& mask, bool head_mask, io::NormMethod m, const std::string& path) {
  if (m == io::NormMethod::none) return;
  try {
    io::NormOptions o;
    o.method = m;
    // A head mask holds scalp and fat brighter than white matter: the peak is taken in its brain
    // core, as imunity-prep and imunity-harmonize do.
    io::apply_normalization(v, io::fit_normalization(v, mask, o, head_mask));
  } catch (const std::exception& e) {
    io::fail(path, std::string("intensity normalization failed (") + e.what() +
                       "); try --intensity as-is if the volumes are already on [0,1]");
  }
}

std::vector<double> density(const io::Volume& v, const io::Mask& mask, int bins) {
  std::vector<double> h(bins, 0.0);
  double n = 0;
  for (int64_t i = 0; i < v.size(); ++i) {
    if (!mask[i]) continue;
    const double x = v.data[i];
    if (!(x >= 0) || x > 1) continue;
    h[std::min(bins - 1, static_cast<int>(x * bins))] += 1;
    n += 1;
  }
  if (n > 0)
    for (double& c : h) c *= bins / n;  // density: integrates to 1 over [0, 1]
  return h;
}

Similarity similarity(const io::Volume& a, const io::Volume& truth, const io::Mask& mask, const SsimOptions& o,
                      std::vector<double>* slice_values, std::vector<int64_t>* slices) {
  Similarity s;
  {
    const std::vector<double> map2 = ssim_map(a.data.data(), truth.data.data(), a.dim, 2, o);
    const SliceSsim m2 = slice_means(map2, a.dim, &mask, true, o);
    s.ssim2d_masked = m2.mean;
    s.ssim2d = slice_means(map2, a.dim, &mask, false, o).mean;  // same slices, whole-slice means
    if (slice_values) *slice_values = m2.value, *slices = m2.slice;
  }
  const std::vector<double> map3 = ssim_map(a.data.data(), truth.data.data(), a.dim, 3, o);
  s.ssim3d_masked = ssim_mean(map3, a.dim, 3, mask.data(), o).value;
  s.ssim3d = ssim_mean(map3, a.dim, 3, nullptr, o).value;
  s.psnr = psnr(a, truth, &mask, o.data_range);
  s.mae = mae(a, truth, &mask);
  return s;
}

std::string caption_for(const std::vector<double>& values, const std::vector<int64_t>& slices, int64_t z) {
  for (size_t i = 0; i < slices.size(); ++i)
    if (slices[i] == z) {
      char buf[48];
      std::snprintf(buf, sizeof buf, "SSIM %.3f", values[i]);
      return buf;
    }
  return "";
}

void process_subject(SubjectResult& r, const EvalOptions& o) {
  const Subject& s = r.subject;
  io::Volume before = io::read_volume(s.before);
  io::Volume after = io::read_volume(s.after);
  if (after.dim != before.dim)
    io::fail(s.after, "grid " + dims_str(after.dim) + " differs from the before volume's " + dims_str(before.dim) +
                          " (" + s.before + "); harmonized volumes must be on the input grid");
  io::Volume truth;
  if (!s.truth.empty()) {
    truth = io::read_volume(s.truth);
    if (truth.dim != before.dim)
      io::fail(s.truth, "grid " + dims_str(truth.dim) + " differs from the before volume's " + dims_str(before.dim) +
                            " (" + s.before + "); the ground truth must be co-registered on the same grid");
  }
  io::Mask mask;
  if (s.mask_kind == "mask") mask = io::read_mask_file(before, s.mask);
  else if (s.mask_kind == "labels") mask = io::read_label_mask(before, s.mask);
  else mask = io::auto_mask(before);
  r.brain_voxels = io::mask_count(mask);
  if (r.brain_voxels == 0) io::fail(s.mask.empty() ? s.before : s.mask, "the brain mask is empty on this grid");
  const bool head_mask = s.mask_kind != "mask" && s.mask_kind != "labels";
  scale_intensity(before, mask, head_mask, o.intensity, s.before);
  scale_intensity(after, mask, head_mask, o.after_intensity.value_or(o.intensity), s.after);
  if (!s.truth.empty()) scale_intensity(truth, mask, head_mask, o.intensity, s.truth);
  // Canonical RAS so that axial slices are z slices.
  io::Reorientation ro;
  before = io::to_canonical(before, &ro);
  after = io::to_canonical(after);
  if (!s.truth.empty()) truth = io::to_canonical(truth);
  mask = ro.forward(mask);

  r.hist_before = density(before, mask, o.hist_bins);
  r.hist_after = density(after, mask, o.hist_bins);
  r.features_before = radiomic_features(before, mask, o.radiomics).values;
  r.features_after = radiomic_features(after, mask, o.radiomics).values;
  std::vector<double> raw_vals, harm_vals;
  std::vector<int64_t> raw_sl, harm_sl;
  if (!s.truth.empty()) {
    r.has_truth = true;
    r.hist_truth = density(truth, mask, o.hist_bins);
    r.raw = similarity(before, truth, mask, o.ssim, &raw_vals, &raw_sl);
    r.harmonized = similarity(after, truth, mask, o.ssim, &harm_vals, &harm_sl);
  } else {
    r.raw = r.harmonized = Similarity{kNaN, kNaN, kNaN, kNaN, kNaN, kNaN};
  }
  if (r.in_mosaic) {
    const int64_t z = mosaic_slice(mask, before.dim, head_mask);
    double hi = 1;
    if (o.intensity == io::NormMethod::none) {
      std::vector<double> v;
      for (int64_t i = 0; i < before.size(); ++i)
        if (mask[i]) v.push_back(before.data[i]);
      std::sort(v.begin(), v.end());
      hi = v.empty() ? 1 : std::max(1e-6, percentile_sorted(v, 99.5));
    }
    r.mosaic_slice = z;
    r.tile_before = axial_tile(before, z, 0, hi);
    r.tile_after = axial_tile(after, z, 0, hi);
    if (!s.truth.empty()) {
      r.tile_truth = axial_tile(truth, z, 0, hi);
      r.tile_before.caption = caption_for(raw_vals, raw_sl, z);
      r.tile_after.caption = caption_for(harm_vals, harm_sl, z);
      r.tile_truth.caption = "truth";
    }
  }
}

Matrix rows_of(const std::vector<SubjectResult>& subs, bool after, const std::vector<int>& cols,
               const std::vector<int>& which) {
  Matrix X;
  for (int i : which) {
    const auto& f = after ? subs[i].features_after : subs[i].features_before;
    std::vector<double> row;
    for (int c : cols) row.push_back(f[c]);
    X.push_back(row);
  }
  return X;
}

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// Sex values normalized for grouping: m/male/1 -> "M", f/female/2 -> "F", anything else as is.
std::string norm_sex(const std::string& v) {
  const std::string l = lower(v);
  if (l == "m" || l == "male" || l == "man") return "M";
  if (l == "f" || l == "female" || l == "woman") return "F";
  return v;
}

void analyses(EvalResults& R) {
  const EvalOptions& o = R.options;
  auto& subs = R.subjects;
  const size_t n = subs.size();
  // Feature columns that are finite everywhere (GLCM needs at least one pair of brain voxels).
  const size_t nf = R.feature_names.size();
  for (size_t c = 0; c < nf; ++c) {
    bool ok = true;
    for (const auto& s : subs) ok = ok && std::isfinite(s.features_before[c]) && std::isfinite(s.features_after[c]);
    if (ok) R.feature_columns.push_back(static_cast<int>(c));
  }
  std::vector<int> all(n);
  for (size_t i = 0; i < n; ++i) all[i] = static_cast<int>(i);
  // Subject identity for grouped folds: the same anatomy at several sites stays in one fold.
  std::map<std::string, int> gid;
  std::vector<int> groups;
  for (const auto& s : subs) groups.push_back(gid.emplace(s.subject.key, static_cast<int>(gid.size())).first->second);
  const bool repeated = gid.size() < n;

  // Site classification.
  const int S = static_cast<int>(R.dataset.sites.size());
  if (S < 2) {
    R.site_note = "fewer than two sites: nothing to classify";
  } else if (R.feature_columns.empty()) {
    R.site_note = "no finite features";
  } else {
    std::vector<int> y;
    for (const auto& s : subs) y.push_back(s.site_index);
    const Matrix Xb = rows_of(subs, false, R.feature_columns, all), Xa = rows_of(subs, true, R.feature_columns, all);
    R.site_selection = select_features(Xb, y, o.alpha);
    std::vector<int> sel;
    for (int i : R.site_selection.index) sel.push_back(i);
    // Travelling subjects (one anatomy at several sites) keep all their sites in one fold: otherwise
    // a perfectly harmonized twin in the training fold, labelled with another site, pushes the
    // accuracy below chance.
    const std::vector<int>* g = repeated ? &groups : nullptr;
    R.site_before = cross_validate_classifier(select_columns(Xb, sel), y, S, o.svm, o.cv, g);
    R.site_after = cross_validate_classifier(select_columns(Xa, sel), y, S, o.svm, o.cv, g);
    R.site_task = R.site_before.valid || R.site_after.valid;
    if (!R.site_task) R.site_note = R.site_before.note;
  }

  // Biological preservation: sex (classification), age (regression) on all finite features.
  {
    std::vector<int> which, y, grp;
    std::vector<std::string> classes;
    for (size_t i = 0; i < n; ++i) {
      auto it = subs[i].subject.covariates.find("sex");
      if (it == subs[i].subject.covariates.end()) it = subs[i].subject.covariates.find("gender");
      if (it == subs[i].subject.covariates.end() || it->second.empty() || lower(it->second) == "n/a") continue;
      const std::string v = norm_sex(it->second);
      auto c = std::find(classes.begin(), classes.end(), v);
      if (c == classes.end()) classes.push_back(v), c = classes.end() - 1;
      which.push_back(static_cast<int>(i));
      y.push_back(static_cast<int>(c - classes.begin()));
      grp.push_back(groups[i]);
    }
    if (which.empty()) {
      R.sex_note = "no `sex` covariate (give --covariates participants.tsv or a manifest column)";
    } else if (classes.size() < 2) {
      R.sex_note = "only one sex present";
    } else {
      // Class order sorted by name, so "F" comes before "M" whatever the file order.
      std::vector<std::string> sorted = classes;
      std::sort(sorted.begin(), sorted.end());
      for (int& c : y) c = static_cast<int>(std::find(sorted.begin(), sorted.end(), classes[c]) - sorted.begin());
      R.sex_classes = sorted;
      const std::vector<int>* g = repeated ? &grp : nullptr;
      std::vector<int> remap(grp);  // group ids must be 0..G-1 within the subset
      std::map<int, int> compact;
      for (int& v : remap) v = compact.emplace(v, static_cast<int>(compact.size())).first->second;
      if (g) g = &remap;
      const int K = static_cast<int>(sorted.size());
      R.sex_before = cross_validate_classifier(rows_of(subs, false, R.feature_columns, which), y, K, o.svm, o.cv, g);
      R.sex_after = cross_validate_classifier(rows_of(subs, true, R.feature_columns, which), y, K, o.svm, o.cv, g);
      R.sex_task = R.sex_before.valid;
      if (!R.sex_task) R.sex_note = R.sex_before.note;
    }
  }
  {
    std::vector<int> which, grp;
    std::vector<double> age;
    for (size_t i = 0; i < n; ++i) {
      const auto it = subs[i].subject.covariates.find("age");
      if (it == subs[i].subject.covariates.end()) continue;
      char* end = nullptr;
      const double a = std::strtod(it->second.c_str(), &end);
      if (end == it->second.c_str() || !std::isfinite(a)) continue;
      which.push_back(static_cast<int>(i));
      age.push_back(a);
      grp.push_back(groups[i]);
    }
    if (which.size() < 4) {
      R.age_note = which.empty() ? "no `age` covariate (give --covariates participants.tsv or a manifest column)"
                                 : "fewer than 4 subjects with an age";
    } else {
      std::map<int, int> compact;
      for (int& v : grp) v = compact.emplace(v, static_cast<int>(compact.size())).first->second;
      const std::vector<int>* g = repeated ? &grp : nullptr;
      R.age_before = cross_validate_regressor(rows_of(subs, false, R.feature_columns, which), age, o.svm, o.cv, g);
      R.age_after = cross_validate_regressor(rows_of(subs, true, R.feature_columns, which), age, o.svm, o.cv, g);
      R.age_task = R.age_before.valid;
      if (!R.age_task) R.age_note = R.age_before.note;
    }
  }

  // Embeddings.
  if (!R.feature_columns.empty() && n >= 3) {
    const Matrix Xb = rows_of(subs, false, R.feature_columns, all), Xa = rows_of(subs, true, R.feature_columns, all);
    R.pca_before = pca(Xb, 2);
    R.pca_after = pca(Xa, 2);
    if (o.tsne && n >= 5 && n <= 600) {
      R.tsne_before = tsne(Xb);
      R.tsne_after = tsne(Xa);
    }
  }
}

}  // namespace

MeanSd mean_sd(const std::vector<double>& v) {
  std::vector<double> f;
  bool inf = false;
  for (double x : v) {
    if (std::isnan(x)) continue;
    inf = inf || std::isinf(x);
    f.push_back(x);
  }
  MeanSd m;
  m.n = static_cast<int>(f.size());
  if (inf) {  // PSNR of identical images: the mean is infinite, the spread undefined
    m.mean = std::numeric_limits<double>::infinity(), m.sd = kNaN;
    return m;
  }
  m.mean = f.empty() ? kNaN : mean(f);
  m.sd = sample_stdev(f);
  return m;
}

std::vector<SiteSummary> summarize_sites(const std::vector<SubjectResult>& subjects, const std::vector<std::string>& sites) {
  std::vector<SiteSummary> out;
  std::vector<std::string> names = sites;
  if (sites.size() > 1) names.push_back("");  // "" = all subjects
  for (size_t k = 0; k < names.size(); ++k) {
    const bool everyone = sites.size() > 1 && k == names.size() - 1;
    SiteSummary s;
    s.site = everyone ? "all" : names[k];
    std::vector<std::vector<double>> v(12);
    for (const auto& r : subjects) {
      if (!r.has_truth || (!everyone && r.subject.site != names[k])) continue;
      ++s.n;
      const double vals[12] = {r.raw.ssim2d_masked, r.harmonized.ssim2d_masked, r.raw.ssim2d, r.harmonized.ssim2d,
                               r.raw.ssim3d_masked, r.harmonized.ssim3d_masked, r.raw.ssim3d, r.harmonized.ssim3d,
                               r.raw.psnr,          r.harmonized.psnr,          r.raw.mae,   r.harmonized.mae};
      for (int i = 0; i < 12; ++i) v[i].push_back(vals[i]);
    }
    if (s.n == 0) continue;
    MeanSd* dst[12] = {&s.raw_ssim2d_masked, &s.harm_ssim2d_masked, &s.raw_ssim2d, &s.harm_ssim2d,
                       &s.raw_ssim3d_masked, &s.harm_ssim3d_masked, &s.raw_ssim3d, &s.harm_ssim3d,
                       &s.raw_psnr,          &s.harm_psnr,          &s.raw_mae,   &s.harm_mae};
    for (int i = 0; i < 12; ++i) *dst[i] = mean_sd(v[i]);
    out.push_back(s);
  }
  return out;
}

EvalResults evaluate(const EvalOptions& options, const ProgressFn& progress) {
  const auto t0 = std::chrono::steady_clock::now();
  EvalResults R;
  R.options = options;
  R.dataset = discover(options.data);
  R.warnings = R.dataset.warnings;
  R.scaling = describe_scaling(options.intensity);
  if (options.after_intensity && *options.after_intensity != options.intensity)
    R.scaling += "; harmonized volumes: " + describe_scaling(*options.after_intensity);
  R.feature_names = radiomic_feature_names(options.radiomics);
  const size_t n = R.dataset.subjects.size();
  R.subjects.resize(n);
  std::map<std::string, int> shown;
  int rows = 0;
  for (size_t i = 0; i < n; ++i) {
    SubjectResult& r = R.subjects[i];
    r.subject = R.dataset.subjects[i];
    r.site_index = static_cast<int>(std::find(R.dataset.sites.begin(), R.dataset.sites.end(), r.subject.site) -
                                    R.dataset.sites.begin());
    if (shown[r.subject.site] < options.mosaic_per_site && rows < options.mosaic_max)
      r.in_mosaic = true, ++shown[r.subject.site], ++rows;
  }
  std::mutex mu;
  std::exception_ptr error;
  int done = 0;
  const int threads = options.threads > 0 ? options.threads : omp_get_max_threads();
#pragma omp parallel for schedule(dynamic, 1) num_threads(threads) if (n > 1)
  for (size_t i = 0; i < n; ++i) {
    {
      std::lock_guard<std::mutex> lock(mu);
      if (error) continue;
    }
    try {
      process_subject(R.subjects[i], options);
      std::lock_guard<std::mutex> lock(mu);
      ++done;
      if (progress) progress(done, static_cast<int>(n), R.subjects[i].subject.rel);
    } catch (...) {
      std::lock_guard<std::mutex> lock(mu);
      if (!error) error = std::current_exception();
    }
  }
  if (error) std::rethrow_exception(error);
  R.has_truth = !R.subjects.empty() && R.subjects[0].has_truth;
  R.site_summaries = summarize_sites(R.subjects, R.dataset.sites);
  analyses(R);
  R.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return R;
}

}  // namespace im::eval
