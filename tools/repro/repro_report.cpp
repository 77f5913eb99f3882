// The outputs of the reproducibility run: the table in the layout of the paper's Table 2 with the
// published numbers beside it, the verdicts against the baselines, site classification, results.json
// and a mosaic of one subject.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>

#include "io/atomic_file.h"
#include "io/error.h"
#include "tools/repro/repro.h"

namespace fs = std::filesystem;

namespace im::tools {

namespace {

std::string fmt(const char* f, double a, double b = 0) {
  char buf[64];
  std::snprintf(buf, sizeof buf, f, a, b);
  return buf;
}

std::string quartiles(const double* q) { return fmt("%.3f / %.3f", q[0], q[1]) + fmt(" / %.3f", q[2]); }

std::string cell_text(const eval::MeanSd& m) {
  if (m.n == 0 || !std::isfinite(m.mean)) return "-";
  return m.n > 1 ? fmt("%.3f ± %.3f", m.mean, m.sd) : fmt("%.3f", m.mean);
}

// Subject x source pairs of a column where method a's SSIM is above method b's.
struct Paired {
  int wins = 0, n = 0;
  double diff = 0;  // mean of a - b
};
Paired paired(const ReproResults& r, const ReproColumn& c, int a, int b) {
  Paired p;
  for (const ReproSubject& s : r.subjects)
    for (int k : c.sources) {
      const double x = s.cells[k][a].ssim, y = s.cells[k][b].ssim;
      if (!std::isfinite(x) || !std::isfinite(y)) continue;
      ++p.n;
      p.wins += x > y;
      p.diff += x - y;
    }
  if (p.n) p.diff /= p.n;
  return p;
}

// "ImUnity (site code) beats Histogram matching on: a, b; does not beat it on: c."
std::string verdict(const ReproResults& r, const std::vector<ReproColumn>& cols, int a, int b) {
  std::string yes, no;
  for (const ReproColumn& c : cols) {
    if (c.check || paired(r, c, a, b).n == 0) continue;
    std::string& list = column_ssim(r, c, a).mean > column_ssim(r, c, b).mean ? yes : no;
    list += (list.empty() ? "" : ", ") + c.key;
  }
  const std::string A = repro_method(a).label, B = repro_method(b).label;
  if (no.empty()) return A + " **beats** " + B + " on every column (" + yes + ").";
  if (yes.empty()) return A + " **does not beat** " + B + " on any column (" + no + ").";
  return A + " **beats** " + B + " on " + yes + "; it **does not beat** it on " + no + ".";
}

struct Published {
  const char* method;
  const char* cells[3];
};
const Published kPublished[] = {
    {"Raw data", {"0.871 ± 0.045", "0.845 ± 0.059", "0.853 ± 0.021"}},
    {"CycleGAN (Zhu 2018)*", {"0.873 ± 0.046", "-", "-"}},
    {"CALAMITI (Zuo 2021)*", {"0.884 ± 0.046", "-", "-"}},
    {"ImUnity # (trained on ABIDE)", {"0.920 ± 0.024", "0.919 ± 0.023", "**0.907 ± 0.024**"}},
    {"ImUnity * (trained on OASIS)", {"**0.943 ± 0.003**", "**0.943 ± 0.003**", "0.893 ± 0.025"}},
    {"ImUnity + (trained on SRPBS)", {"0.824 ± 0.064", "0.827 ± 0.061", "0.865 ± 0.019"}},
};

nlohmann::json mean_sd_json(const eval::MeanSd& m) {
  auto num = [](double x) { return std::isfinite(x) ? nlohmann::json(x) : nlohmann::json(nullptr); };
  return {{"mean", num(m.mean)}, {"sd", num(m.sd)}, {"n", m.n}};
}

nlohmann::json number(double x) { return std::isfinite(x) ? nlohmann::json(x) : nlohmann::json(nullptr); }

}  // namespace

std::vector<ReproColumn> repro_columns(const ReproResults& r) {
  std::vector<ReproColumn> cols;
  const std::string ref = r.options.reference;
  std::vector<int> seen, unseen;
  for (size_t k = 1; k < r.sources.size(); ++k) {
    const ReproSource& s = r.sources[k];
    cols.push_back({s.name, s.name + " → " + ref + " (" + s.group + ")", {static_cast<int>(k)}, false});
    (s.group == "seen" ? seen : unseen).push_back(static_cast<int>(k));
  }
  if (!seen.empty()) cols.push_back({"all_seen", "all seen → " + ref, seen, false});
  if (!unseen.empty()) cols.push_back({"all_unseen", "all unseen → " + ref, unseen, false});
  cols.push_back({"reference_check", ref + " → " + ref + " (check)", {0}, true});
  return cols;
}

eval::MeanSd column_ssim(const ReproResults& r, const ReproColumn& c, int method) {
  std::vector<double> v;
  for (const ReproSubject& s : r.subjects)
    for (int k : c.sources) v.push_back(s.cells[k][method].ssim);
  return eval::mean_sd(v);
}

std::string repro_markdown(const ReproResults& r) {
  const ReproOptions& o = r.options;
  const std::vector<ReproColumn> cols = repro_columns(r);
  std::string md = "# ImUnity reproducibility run (`imunity-repro`)\n\n";
  md += "- Model: `" + o.model + "` (" + r.model_summary + ", step " + std::to_string(r.model_step) + ", sha256 " +
        r.model_sha256.substr(0, 12) + "...; sites in the checkpoint:";
  for (const std::string& s : r.model_sites) md += " " + s;
  md += ")\n";
  md += "- Travelling subjects: the first " + std::to_string(r.subjects.size()) +
        " IXI-HH subjects (sorted by file name), held out of training (" + r.held_out + "). Ground truth: " +
        r.truth_convention + ".\n";
  md += "- Sources: virtual sites made from each subject's real image by `io::simulate_site` (seed " + std::to_string(o.seed) +
        "); seen:";
  for (const ReproSource& s : r.sources)
    if (s.group == "seen") md += " " + s.name;
  md += "; unseen:";
  for (const ReproSource& s : r.sources)
    if (s.group == "unseen") md += " " + s.name;
  md += ". Target: the reference site `" + o.reference + "`.\n";
  md += "- Reference image (ImUnity's target image, histogram-matching reference): `" + fs::path(r.reference_image).filename().string() +
        "`, a training subject of the reference site, not a test subject.\n";
  md += "- ImUnity input mask: " + std::string(o.model_mask == "brain" ? "the brain mask (IXI labels, as the baselines)" : "automatic head mask") +
        "; outside it the detail rows map every voxel like the baselines (`--outside map`), the decoder row keeps the "
        "normalized input (`--outside keep`)" +
        "; device " + r.device_description + " on " + r.machine + "; " + fmt("%.0f s", r.seconds) + " in all.\n\n";

  md += "## SSIM against the ground truth (mean ± sd)\n\n| Method |";
  for (const ReproColumn& c : cols) md += " " + c.label + " |";
  md += "\n|---|";
  for (size_t i = 0; i < cols.size(); ++i) md += "---|";
  md += "\n";
  std::vector<int> best(cols.size(), -1);
  for (size_t j = 0; j < cols.size(); ++j) {
    double top = -1;
    for (int m = 0; m < kMethodCount; ++m) {
      const double x = column_ssim(r, cols[j], m).mean;
      if (std::isfinite(x) && x > top) top = x, best[j] = m;
    }
  }
  for (int m = 0; m < kMethodCount; ++m) {
    md += std::string("| ") + repro_method(m).label + " |";
    for (size_t j = 0; j < cols.size(); ++j) {
      const std::string t = cell_text(column_ssim(r, cols[j], m));
      md += " " + (best[j] == m && !cols[j].check ? "**" + t + "**" : t) + " |";
    }
    md += "\n";
  }
  md += "\nBest per column in bold. Per-site columns: mean ± sd (ddof 1) over the " + std::to_string(r.subjects.size()) +
        " subjects; \"all\" columns: over subject × site pairs. The check column is the real reference image through each "
        "method (WM-peak normalization gives the ground truth itself: 1 by construction).\n"
        "SSIM: " + r.ssim_convention + "; every image on the [0,1] scale with the WM peak at 0.7 (each method's own output; "
        "the raw row only rescaled).\n\n";

  md += "### ImUnity against the baselines\n\n";
  md += "Difference of mean SSIM (ImUnity minus baseline) and the subject × site pairs where ImUnity is higher.\n\n| |";
  for (const ReproColumn& c : cols)
    if (!c.check) md += " " + c.key + " |";
  md += "\n|---|";
  for (const ReproColumn& c : cols)
    if (!c.check) md += "---|";
  md += "\n";
  for (int a : kImUnityMethods)
    for (int b : kBaselineMethods) {
      md += std::string("| ") + repro_method(a).label + " vs " + repro_method(b).label + " |";
      for (const ReproColumn& c : cols) {
        if (c.check) continue;
        const Paired p = paired(r, c, a, b);
        md += " " + fmt("%+.3f", column_ssim(r, c, a).mean - column_ssim(r, c, b).mean) + " (" + std::to_string(p.wins) + "/" +
              std::to_string(p.n) + ") |";
      }
      md += "\n";
    }
  md += "\n";
  for (int b : kBaselineMethods)
    for (int a : kImUnityMethods) md += "- " + verdict(r, cols, a, b) + "\n";
  md += "- Best method per column:";
  for (size_t j = 0; j < cols.size(); ++j)
    if (!cols[j].check && best[j] >= 0) md += " " + cols[j].key + ": " + repro_method(best[j]).label + ";";
  md += "\n\n";

  md += "### Through-slice texture correlation\n\n"
        "Correlation of fine detail (the image minus its in-plane Gaussian blur, sigma 1 voxel) between axial slices 1 "
        "(2 mm) and 10 (20 mm) apart, in the brain, mean over subject x source pairs (eval/texture.h). Real anatomy "
        "decorrelates within a few slices; a decoder painting the same texture on every slice does not.\n\n"
        "| Method | 2 mm | 20 mm |\n|---|---|---|\n";
  for (int m = 0; m < kMethodCount; ++m) {
    double a = 0, b = 0;
    int n = 0;
    for (const ReproSubject& sub : r.subjects)
      for (const auto& per_source : sub.cells)
        if (std::isfinite(per_source[m].texture_lag1) && std::isfinite(per_source[m].texture_lag10))
          a += per_source[m].texture_lag1, b += per_source[m].texture_lag10, ++n;
    md += std::string("| ") + repro_method(m).label + " | " + (n ? fmt("%.3f", a / n) : "-") + " | " + (n ? fmt("%.3f", b / n) : "-") + " |\n";
  }
  md += "\n";

  if (!r.site_codes.empty()) {
    md += "### One subject towards every site code\n\n"
          "`" + r.site_code_subject + "` (the real image, a test subject) harmonized towards each site code of the model: "
          "brain-intensity quartiles (25th / 50th / 75th percentile) of each output, and the mean absolute difference in the "
          "brain from the output towards `" + o.reference + "`. Different targets must give different contrast.\n\n"
          "| target site | decoder output quartiles | decoder MAD | detail output quartiles | detail MAD |\n|---|---|---|---|---|\n";
    for (const ReproSiteCode& sc : r.site_codes)
      md += "| " + sc.site + " | " + quartiles(sc.decoder_q) + " | " +
            fmt("%.3f", sc.decoder_mad) + " | " + quartiles(sc.detail_q) +
            " | " + fmt("%.3f", sc.detail_mad) + " |\n";
    md += "\n";
  }

  md += "## Published numbers (ImUnity paper, Table 2: real travelling subjects)\n\n";
  md += "| Method | OASIS scanner F → scanner E | OASIS all scanners → scanner E | SRPBS all sites → UTO |\n|---|---|---|---|\n";
  for (const Published& p : kPublished)
    md += std::string("| ") + p.method + " | " + p.cells[0] + " | " + p.cells[1] + " | " + p.cells[2] + " |\n";
  md += "\nNot comparable one to one: the paper's numbers are on real travelling subjects (skull-stripped, N4-corrected, "
        "MNI-registered, White-Stripe normalized: its \"Raw data\" row is already WM-aligned, like our WM-peak and White-Stripe "
        "rows), with an SSIM convention it does not state; ours are virtual sites of real IXI anatomy, whole-head, on the "
        "2 mm grid, against a ground truth free of registration error and scan-rescan change.\n\n";

  md += "## Site classification (radiomic features, RBF SVM)\n\n";
  if (!r.site_task) {
    md += "Not available: " + r.site_note + "\n\n";
  } else {
    const eval::ClassificationResult& b = r.site_accuracy[kNone];
    md += "| Images | accuracy | AUC (one-vs-rest) |\n|---|---|---|\n";
    for (int m = 0; m < kMethodCount; ++m) {
      const eval::ClassificationResult& c = r.site_accuracy[m];
      md += std::string("| ") + repro_method(m).label + " | " + fmt("%.3f ± %.3f", c.accuracy, c.accuracy_sd) + " | " +
            fmt("%.3f ± %.3f", c.auc, c.auc_sd) + " |\n";
    }
    md += "\nChance: " + fmt("%.3f", b.uniform_chance) + " (1/" + std::to_string(b.n_classes) + " sites; majority " +
          fmt("%.3f", b.majority_rate) + "); AUC 0.5. Paper (ABIDE, 11 sites, real scanners): 0.70 before -> 0.38 after ImUnity.\n";
    md += "Sites: every source above including `" + o.reference + "` itself, " + std::to_string(b.n) + " images per method. " +
          std::to_string(r.feature_columns.size()) + " radiomic features (first-order + GLCM, 32 bins) in the brain mask; " +
          std::to_string(r.site_selection.index.size()) + " selected by " + r.site_selection.method + " p < " +
          fmt("%g", r.site_selection.alpha) + " on the raw images" + (r.site_selection.fallback ? " (none passed: the 10 best)" : "") +
          ", the same for every method; " + std::to_string(b.folds) + "-fold cross-validation grouped by subject (all sites "
          "of a subject in one fold), " + std::to_string(b.repeats) + " repeats: mean ± sd over repeats.\n";
    if (!b.note.empty()) md += "Note: " + b.note + "\n";
    md += "\n";
  }

  md += "## Methods\n\n";
  for (int m = 0; m < kMethodCount; ++m) md += std::string("- **") + repro_method(m).label + "**: " + repro_method(m).description + ".\n";
  if (!r.warnings.empty()) {
    md += "\n## Warnings\n\n";
    for (const std::string& w : r.warnings) md += "- " + w + "\n";
  }
  return md;
}

nlohmann::json repro_json(const ReproResults& r) {
  const ReproOptions& o = r.options;
  nlohmann::json j;
  j["tool"] = "imunity-repro";
  j["version"] = IMUNITY_VERSION;
  j["command"] = o.command;
  j["options"] = {{"model", o.model},     {"data", o.data},           {"subjects", o.subjects},
                  {"reference", o.reference}, {"seen", o.seen},       {"unseen", o.unseen},
                  {"seed", o.seed},       {"model_mask", o.model_mask}, {"training_manifest", o.training_manifest}, {"device", o.device},
                  {"folds", o.cv.folds},  {"repeats", o.cv.repeats},  {"cv_seed", o.cv.seed}, {"alpha", o.alpha},
                  {"n4", o.n4 < 0 ? "default" : o.n4 ? "on" : "off"}};
  j["model"] = {{"path", o.model}, {"sha256", r.model_sha256}, {"step", r.model_step}, {"summary", r.model_summary},
                {"sites", r.model_sites}};
  j["device"] = r.device_description;
  j["machine"] = r.machine;
  j["seconds"] = r.seconds;
  j["reference_image"] = r.reference_image;
  j["held_out"] = r.held_out;
  j["conventions"] = {{"ssim", r.ssim_convention}, {"truth", r.truth_convention},
                      {"columns", "per-site: mean and sd (ddof 1) over subjects; all seen/unseen: over subject x site pairs"},
                      {"w1", "Wasserstein-1 distance between the brain-voxel intensities of the image and of the truth "
                             "(w1_truth) or of the reference image (w1_reference), on [0,1]"}};
  nlohmann::json methods = nlohmann::json::array();
  for (int m = 0; m < kMethodCount; ++m)
    methods.push_back({{"key", repro_method(m).key}, {"label", repro_method(m).label}, {"description", repro_method(m).description}});
  j["methods"] = methods;
  nlohmann::json sources = nlohmann::json::array();
  for (const ReproSource& s : r.sources)
    sources.push_back({{"name", s.name}, {"group", s.group}, {"in_checkpoint", s.in_checkpoint}, {"file", s.file},
                       {"description", s.description}});
  j["sources"] = sources;
  nlohmann::json table = nlohmann::json::array();
  for (const ReproColumn& c : repro_columns(r)) {
    nlohmann::json col = {{"key", c.key}, {"label", c.label}, {"check", c.check}};
    for (int m = 0; m < kMethodCount; ++m) col["ssim"][repro_method(m).key] = mean_sd_json(column_ssim(r, c, m));
    for (int m : kImUnityMethods)
      for (int b : kBaselineMethods) {
        const Paired p = paired(r, c, m, b);
        col["paired"][std::string(repro_method(m).key) + "_vs_" + repro_method(b).key] = {
            {"mean_difference", number(p.diff)}, {"higher", p.wins}, {"n", p.n}};
      }
    table.push_back(col);
  }
  j["table"] = table;
  nlohmann::json subjects = nlohmann::json::array();
  for (const ReproSubject& s : r.subjects) {
    nlohmann::json js = {{"key", s.key}, {"path", s.path}, {"brain_voxels", s.brain_voxels}};
    for (size_t k = 0; k < r.sources.size(); ++k)
      for (int m = 0; m < kMethodCount; ++m) {
        const ReproCell& c = s.cells[k][m];
        js["results"][r.sources[k].name][repro_method(m).key] = {
            {"ssim", number(c.ssim)},         {"ssim_image", number(c.ssim_image)},     {"mae", number(c.mae)},
            {"w1_truth", number(c.w1_truth)}, {"w1_reference", number(c.w1_reference)}, {"seconds", s.seconds[k][m]},
            {"texture_corr_lag1", number(c.texture_lag1)}, {"texture_corr_lag10", number(c.texture_lag10)}};
      }
    subjects.push_back(js);
  }
  j["subjects"] = subjects;
  nlohmann::json codes = nlohmann::json::array();
  for (const ReproSiteCode& sc : r.site_codes)
    codes.push_back({{"site", sc.site},
                     {"decoder_quartiles", {sc.decoder_q[0], sc.decoder_q[1], sc.decoder_q[2]}},
                     {"decoder_mad_vs_reference", sc.decoder_mad},
                     {"detail_quartiles", {sc.detail_q[0], sc.detail_q[1], sc.detail_q[2]}},
                     {"detail_mad_vs_reference", sc.detail_mad}});
  j["site_codes"] = {{"subject", r.site_code_subject}, {"targets", codes}};
  nlohmann::json cls = {{"run", r.site_task}, {"note", r.site_note}};
  if (r.site_task) {
    std::vector<std::string> selected;
    for (int i : r.site_selection.index) selected.push_back(r.feature_names[r.feature_columns[i]]);
    cls["features"] = r.feature_columns.size();
    cls["selected"] = selected;
    cls["selection"] = r.site_selection.method;
    cls["selection_fallback"] = r.site_selection.fallback;
    for (int m = 0; m < kMethodCount; ++m) {
      const eval::ClassificationResult& c = r.site_accuracy[m];
      cls["methods"][repro_method(m).key] = {{"accuracy", c.accuracy}, {"accuracy_sd", c.accuracy_sd}, {"auc", number(c.auc)},
                                             {"auc_sd", number(c.auc_sd)}, {"n", c.n}, {"classes", c.n_classes},
                                             {"folds", c.folds}, {"repeats", c.repeats}, {"note", c.note},
                                             {"confusion", c.confusion}};
    }
    cls["chance"] = {{"uniform", r.site_accuracy[kNone].uniform_chance}, {"majority", r.site_accuracy[kNone].majority_rate},
                     {"auc", 0.5}};
  }
  cls["paper"] = {{"before", 0.70}, {"after", 0.38}, {"data", "ABIDE, 11 sites"}};
  j["site_classification"] = cls;
  nlohmann::json pub = nlohmann::json::array();
  for (const Published& p : kPublished) pub.push_back({{"method", p.method}, {"oasis_f_to_e", p.cells[0]}, {"oasis_all_to_e", p.cells[1]}, {"srpbs_all_to_uto", p.cells[2]}});
  j["published"] = {{"table", pub},
                    {"note", "real travelling subjects (OASIS, SRPBS); ours: virtual sites of real IXI anatomy; not comparable one to one"}};
  j["warnings"] = r.warnings;
  return j;
}

void write_repro_outputs(const ReproResults& r) {
  const std::string& out = r.options.out;
  std::error_code ec;
  fs::create_directories(out, ec);
  if (ec) io::fail(out, "cannot create the output folder: " + ec.message());
  io::AtomicFileSet files;
  files.add((fs::path(out) / "table.md").string(), repro_markdown(r));
  files.add((fs::path(out) / "results.json").string(), repro_json(r).dump(2) + "\n");
  bool any_tile = false;
  for (const auto& row : r.mosaic)
    for (const eval::Tile& t : row) any_tile = any_tile || t.w > 0;
  if (any_tile)
    files.add((fs::path(out) / "mosaic.png").string(),
              eval::encode_png(eval::render_mosaic(r.mosaic, r.mosaic_columns, r.mosaic_rows, 1, 1)));
  files.commit(true);
}

}  // namespace im::tools
