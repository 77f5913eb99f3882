// report.json (every number) and the self-contained HTML report; atomic writing of the folder.
#include "eval/report.h"
#include "eval/report_internal.h"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <sstream>

#include "io/atomic_file.h"
#include "io/error.h"

#ifndef IMUNITY_VERSION
#define IMUNITY_VERSION "unknown"
#endif

namespace fs = std::filesystem;
using ojson = nlohmann::ordered_json;

namespace im::eval {

std::string base64(const std::vector<uint8_t>& b) {
  static const char* t = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((b.size() + 2) / 3 * 4);
  for (size_t i = 0; i < b.size(); i += 3) {
    const uint32_t v = (uint32_t(b[i]) << 16) | (i + 1 < b.size() ? uint32_t(b[i + 1]) << 8 : 0) |
                       (i + 2 < b.size() ? uint32_t(b[i + 2]) : 0);
    out += t[v >> 18 & 63];
    out += t[v >> 12 & 63];
    out += i + 1 < b.size() ? t[v >> 6 & 63] : '=';
    out += i + 2 < b.size() ? t[v & 63] : '=';
  }
  return out;
}

std::string html_escape(const std::string& s) {
  std::string o;
  for (char c : s) {
    switch (c) {
      case '&': o += "&amp;"; break;
      case '<': o += "&lt;"; break;
      case '>': o += "&gt;"; break;
      case '"': o += "&quot;"; break;
      default: o += c;
    }
  }
  return o;
}

namespace {

std::string now_utc() {
  const std::time_t t = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M UTC", &tm);
  return buf;
}

}  // namespace

std::string now_utc_string() { return now_utc(); }

namespace {

ojson num(double v) { return std::isfinite(v) ? ojson(v) : ojson(nullptr); }

ojson msd(const MeanSd& m) { return {{"mean", num(m.mean)}, {"sd", num(m.sd)}, {"n", m.n}}; }

ojson sim_json(const Similarity& s) {
  return {{"ssim2d_masked", num(s.ssim2d_masked)}, {"ssim2d", num(s.ssim2d)}, {"ssim3d_masked", num(s.ssim3d_masked)},
          {"ssim3d", num(s.ssim3d)}, {"psnr_masked", num(s.psnr)}, {"mae_masked", num(s.mae)}};
}

ojson cls_json(const ClassificationResult& c) {
  return {{"valid", c.valid}, {"note", c.note}, {"n", c.n}, {"n_classes", c.n_classes}, {"n_features", c.n_features},
          {"folds", c.folds}, {"repeats", c.repeats}, {"accuracy", num(c.accuracy)}, {"accuracy_sd", num(c.accuracy_sd)},
          {"auc", num(c.auc)}, {"auc_sd", num(c.auc_sd)}, {"chance_majority", num(c.majority_rate)},
          {"chance_uniform", num(c.uniform_chance)}, {"confusion_first_repeat", c.confusion}};
}

ojson reg_json(const RegressionResult& g) {
  return {{"valid", g.valid}, {"note", g.note}, {"n", g.n}, {"n_features", g.n_features}, {"folds", g.folds},
          {"repeats", g.repeats}, {"mae", num(g.mae)}, {"mae_sd", num(g.mae_sd)}, {"r", num(g.r)},
          {"chance_mae_training_mean", num(g.baseline_mae)}};
}

}  // namespace

Conventions conventions(const EvalResults& r) {
  const EvalOptions& o = r.options;
  Conventions c;
  const std::string sc = r.scaling;
  c.ssim2d_masked = ssim_convention(2, true, o.ssim, sc);
  c.ssim2d = ssim_convention(2, false, o.ssim, sc);
  c.ssim3d_masked = ssim_convention(3, true, o.ssim, sc);
  c.ssim3d = ssim_convention(3, false, o.ssim, sc);
  c.psnr = psnr_convention(true, o.ssim.data_range, sc);
  c.mae = mae_convention(true, sc);
  c.radiomics = "pyradiomics-style features inside the brain mask: " + std::to_string(first_order_names().size()) +
                " first-order, " + (o.radiomics.texture ? std::to_string(glcm_names().size()) + " GLCM (symmetric, distance 1, mean over 13 3-D directions), " : "") +
                "1 shape (voxel volume); intensities discretized to " + std::to_string(o.radiomics.bins) +
                " bins over the ROI's [min, max] for entropy, uniformity and GLCM";
  char buf[256];
  std::snprintf(buf, sizeof buf, "p < %g against site, on the before features; the same features are used after (the paper's protocol)",
                o.alpha);
  c.selection = buf;
  std::snprintf(buf, sizeof buf, "libsvm C-SVC, RBF kernel, C = %g, gamma = %s, features standardized on the training fold",
                o.svm.C, o.svm.gamma > 0 ? std::to_string(o.svm.gamma).c_str() : "1/n_features");
  c.classifier = buf;
  std::snprintf(buf, sizeof buf, "stratified %d-fold cross-validation repeated %d times (seed %llu); mean (sd over repeats); AUC of pooled out-of-fold decision values, one-vs-rest macro for > 2 classes",
                o.cv.folds, o.cv.repeats, static_cast<unsigned long long>(o.cv.seed));
  c.cv = buf;
  std::snprintf(buf, sizeof buf, "libsvm epsilon-SVR, RBF kernel, C = %g, epsilon = %g (standardized target), gamma = 1/n_features; all finite features",
                o.svm.C, o.svm.epsilon);
  c.regression = buf;
  return c;
}

ojson results_to_json(const EvalResults& r, const ReportInfo& info) {
  const Conventions c = conventions(r);
  const EvalOptions& o = r.options;
  ojson j;
  j["tool"] = "imunity-eval";
  j["version"] = IMUNITY_VERSION;
  j["generated"] = info.generated.empty() ? now_utc_string() : info.generated;
  j["command"] = info.command;
  j["seconds"] = r.seconds;
  const char* masks[] = {"automatic (<subject>_mask next to the before volume, else auto)", "auto (head/foreground, Otsu)",
                         "mask folder", "labels folder"};
  j["inputs"] = {{"before", o.data.before_dir},  {"after", o.data.after_dir},       {"truth", o.data.truth_dir},
                 {"manifest", o.data.manifest},  {"covariates", o.data.covariates}, {"mask_source", masks[static_cast<int>(o.data.mask_source)]},
                 {"mask_dir", o.data.mask_dir},  {"intensity", r.scaling}};
  j["conventions"] = {{"ssim2d_masked", c.ssim2d_masked}, {"ssim2d", c.ssim2d}, {"ssim3d_masked", c.ssim3d_masked},
                      {"ssim3d", c.ssim3d}, {"psnr_masked", c.psnr}, {"mae_masked", c.mae}, {"radiomics", c.radiomics},
                      {"selection", c.selection}, {"classifier", c.classifier}, {"cross_validation", c.cv},
                      {"regression", c.regression},
                      {"sd", "sample standard deviation (ddof 1) over subjects; over CV repeats: population (ddof 0)"}};
  j["sites"] = r.dataset.sites;
  j["warnings"] = r.warnings;
  ojson subs = ojson::array();
  for (const auto& s : r.subjects) {
    ojson e = {{"key", s.subject.key}, {"site", s.subject.site}, {"before", s.subject.before}, {"after", s.subject.after},
               {"truth", s.subject.truth}, {"mask", s.subject.mask.empty() ? std::string("auto") : s.subject.mask},
               {"brain_voxels", s.brain_voxels}};
    if (s.has_truth) e["raw"] = sim_json(s.raw), e["harmonized"] = sim_json(s.harmonized);
    if (!s.subject.covariates.empty()) e["covariates"] = s.subject.covariates;
    subs.push_back(e);
  }
  j["subjects"] = subs;
  ojson bysite = ojson::array();
  for (const auto& s : r.site_summaries) {
    bysite.push_back({{"site", s.site},
                      {"n", s.n},
                      {"raw", {{"ssim2d_masked", msd(s.raw_ssim2d_masked)}, {"ssim2d", msd(s.raw_ssim2d)},
                               {"ssim3d_masked", msd(s.raw_ssim3d_masked)}, {"ssim3d", msd(s.raw_ssim3d)},
                               {"psnr_masked", msd(s.raw_psnr)}, {"mae_masked", msd(s.raw_mae)}}},
                      {"harmonized", {{"ssim2d_masked", msd(s.harm_ssim2d_masked)}, {"ssim2d", msd(s.harm_ssim2d)},
                                      {"ssim3d_masked", msd(s.harm_ssim3d_masked)}, {"ssim3d", msd(s.harm_ssim3d)},
                                      {"psnr_masked", msd(s.harm_psnr)}, {"mae_masked", msd(s.harm_mae)}}}});
  }
  j["similarity_by_site"] = bysite;
  {
    ojson sel = {{"method", r.site_selection.method}, {"alpha", r.site_selection.alpha}, {"fallback", r.site_selection.fallback}};
    ojson names = ojson::array(), pv = ojson::object();
    for (int i : r.site_selection.index) names.push_back(r.feature_names[r.feature_columns[i]]);
    for (size_t i = 0; i < r.site_selection.p.size(); ++i) pv[r.feature_names[r.feature_columns[i]]] = num(r.site_selection.p[i]);
    sel["selected"] = names;
    sel["p"] = pv;
    j["site_classification"] = {{"valid", r.site_task}, {"note", r.site_note}, {"selection", sel},
                                {"before", cls_json(r.site_before)}, {"after", cls_json(r.site_after)}};
  }
  j["biological"] = {
      {"sex", {{"valid", r.sex_task}, {"note", r.sex_note}, {"classes", r.sex_classes},
               {"before", cls_json(r.sex_before)}, {"after", cls_json(r.sex_after)}}},
      {"age", {{"valid", r.age_task}, {"note", r.age_note}, {"before", reg_json(r.age_before)}, {"after", reg_json(r.age_after)}}}};
  auto pts = [](const Matrix& m) {
    ojson a = ojson::array();
    for (const auto& p : m) a.push_back({num(p[0]), num(p.size() > 1 ? p[1] : 0.0)});
    return a;
  };
  j["embeddings"] = {{"pca", {{"before", {{"explained", r.pca_before.explained}, {"points", pts(r.pca_before.projection)}}},
                              {"after", {{"explained", r.pca_after.explained}, {"points", pts(r.pca_after.projection)}}}}},
                     {"tsne", {{"before", pts(r.tsne_before)}, {"after", pts(r.tsne_after)}}}};
  ojson fb = ojson::array(), fa = ojson::array();
  for (const auto& s : r.subjects) {
    ojson b = ojson::array(), a = ojson::array();
    for (double v : s.features_before) b.push_back(num(v));
    for (double v : s.features_after) a.push_back(num(v));
    fb.push_back(b), fa.push_back(a);
  }
  ojson used = ojson::array();
  for (int col : r.feature_columns) used.push_back(r.feature_names[col]);
  j["features"] = {{"names", r.feature_names}, {"used", used}, {"before", fb}, {"after", fa}};
  ojson hist = ojson::object();
  hist["bins"] = r.options.hist_bins;
  hist["range"] = {0, 1};
  ojson per = ojson::array();
  for (const auto& s : r.subjects) {
    ojson h = {{"key", s.subject.key}, {"site", s.subject.site}, {"before", s.hist_before}, {"after", s.hist_after}};
    if (s.has_truth) h["truth"] = s.hist_truth;
    per.push_back(h);
  }
  hist["subjects"] = per;
  j["histograms"] = hist;
  return j;
}

void write_report(const EvalResults& r, const std::string& dir, const ReportInfo& info_in) {
  ReportInfo info = info_in;
  if (info.generated.empty()) info.generated = now_utc();
  std::error_code ec;
  fs::create_directories(fs::path(dir) / "figures", ec);
  if (ec) io::fail(dir, "cannot create the report folder (" + ec.message() + ")");
  const std::vector<Figure> figs = make_figures(r);
  io::AtomicFileSet set;
  for (const Figure& f : figs) set.add((fs::path(dir) / "figures" / f.name).string(), encode_png(f.image));
  set.add((fs::path(dir) / "report.json").string(), results_to_json(r, info).dump(1) + "\n");
  set.add((fs::path(dir) / "report.html").string(), render_html(r, figs, info));
  set.commit(true);
}

}  // namespace im::eval
