// imunity-eval: did harmonization help? Similarity to a ground truth, site classification, biological
// preservation and embeddings, before vs after, as a self-contained HTML report plus report.json.
#include <CLI/CLI.hpp>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <exception>
#include <iostream>
#include <mutex>
#include <string>

#include "eval/evaluate.h"
#include "eval/report.h"
#include "io/error.h"

namespace {

const char* kDescription = R"(imunity-eval: evaluate a harmonization run and write a QC report.

Compares the volumes in --before (the inputs) with their harmonized versions in --after, and, when
--truth is given, both with a ground truth (travelling subjects, or the same anatomy simulated at
the target site by imunity-simulate). Writes into --out:
  report.html   self-contained page (figures embedded): mosaics, histograms per site, tables
  report.json   every number in the report, with the convention of each metric
  figures/*.png the figures as separate files
What it measures:
  * SSIM (2-D per axial slice and 3-D; in the brain mask and on the whole image), PSNR and MAE in
    the mask, of the raw and of the harmonized volume against the truth (11x11 Gaussian window,
    sigma 1.5, K1 0.01, K2 0.03, L = 1, scikit-image border handling; the convention is printed
    beside every number);
  * site classification as in the ImUnity paper: radiomic features (first-order + GLCM) in the
    mask, selection by Pearson/ANOVA p < 1e-3 against site, RBF SVM with stratified CV: accuracy
    and AUC before and after, with chance levels;
  * biological preservation: sex (accuracy, AUC) and age (MAE) predicted from the same features
    before and after, from --covariates (e.g. IXI participants.tsv) or manifest columns;
  * PCA and t-SNE embeddings of the features coloured by site.

Matching: volumes are matched by subject name between the folders. The subject of a file is its
name without .nii/.nii.gz and suffixes such as _desc-harmonized_T1w, _T1w, _T1, _mask, _DLMUSE:
before/siteA/sub01.nii.gz matches after/siteA/sub01_desc-harmonized_T1w.nii.gz and truth/sub01.nii.gz.
Sites: the first-level folder under --before (imunity-simulate writes <out>/<site>/<subject>.nii.gz),
or the `site` column of --manifest (TSV with `path` or `subject`, `site`, optional `age`, `sex`).
Brain masks: by default <subject>_mask.nii.gz next to the before volume (what imunity-simulate
writes), else an automatic head/foreground mask (Otsu; not skull stripping); or --mask-dir,
--labels-dir (label > 0 is brain, any grid), --auto-mask.
Intensities: every volume is put on [0,1] with the project's normalization inside its mask (WM peak
at 0.7) unless --intensity says otherwise; --after-intensity as-is takes imunity-harmonize's outputs as
they are (already on that scale), so that a white-matter shift left by the model shows.)";

const char* kExamples = R"(
Examples:
  # simulated travelling subjects, harmonized towards site "ref":
  imunity-eval --before sim/ --after harmonized/ --truth sim/ref --out qc/
  # real IXI volumes with their label maps, age and sex:
  imunity-eval --before ixi/t1 --after ixi_harm/ --labels-dir ixi/labels \
      --covariates ixi/participants.tsv --manifest sites.tsv --out qc/
)";

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{kDescription, "imunity-eval"};
  app.footer(kExamples);
  im::eval::EvalOptions o;
  std::string out, intensity = "wm-peak", after_intensity;
  bool auto_mask = false, no_tsne = false, no_texture = false, quiet = false;
  app.add_option("--before", o.data.before_dir, "folder of the input volumes (per-site subfolders, or see --manifest)")
      ->required()->check(CLI::ExistingDirectory);
  app.add_option("--after", o.data.after_dir, "folder of the harmonized volumes (same names, optional _desc-harmonized_T1w)")
      ->required()->check(CLI::ExistingDirectory);
  app.add_option("--truth", o.data.truth_dir, "folder of ground-truth volumes (same subject names, same grid)")
      ->check(CLI::ExistingDirectory);
  app.add_option("--manifest", o.data.manifest, "TSV: `path` (relative to --before) or `subject`, `site`, optional age, sex, ...")
      ->check(CLI::ExistingFile);
  app.add_option("--covariates", o.data.covariates, "TSV with `participant_id` (or `subject`), age, sex (e.g. IXI participants.tsv)")
      ->check(CLI::ExistingFile);
  auto* md = app.add_option("--mask-dir", o.data.mask_dir, "folder of brain masks per subject (value > 0.5 is brain)")
                 ->check(CLI::ExistingDirectory);
  auto* ld = app.add_option("--labels-dir", o.data.mask_dir, "folder of label maps per subject (label > 0 is brain, any grid)")
                 ->check(CLI::ExistingDirectory);
  auto* am = app.add_flag("--auto-mask", auto_mask, "always use the automatic head/foreground mask (not skull stripping)");
  md->excludes(ld)->excludes(am);
  ld->excludes(am);
  app.add_option("--out", out, "report folder (created; report.html, report.json, figures/)")->required();
  app.add_option("--intensity", intensity, "how volumes are put on [0,1]: wm-peak (default), white-stripe, as-is")
      ->check(CLI::IsMember({"wm-peak", "white-stripe", "as-is"}));
  app.add_option("--after-intensity", after_intensity,
                 "the harmonized volumes' scaling if not --intensity's: as-is for imunity-harmonize outputs (already [0,1], WM near 0.7)")
      ->check(CLI::IsMember({"wm-peak", "white-stripe", "as-is"}));
  app.add_option("--folds", o.cv.folds, "cross-validation folds")->check(CLI::Range(2, 100))->capture_default_str();
  app.add_option("--repeats", o.cv.repeats, "cross-validation repeats (different fold draws)")->check(CLI::Range(1, 1000))->capture_default_str();
  app.add_option("--seed", o.cv.seed, "seed of the fold draws")->capture_default_str();
  app.add_option("--alpha", o.alpha, "feature-selection p-value threshold against site")->capture_default_str();
  app.add_option("--bins", o.radiomics.bins, "gray levels for entropy, uniformity and GLCM")->check(CLI::Range(2, 1024))->capture_default_str();
  app.add_option("--svm-c", o.svm.C, "SVM C")->capture_default_str();
  app.add_option("--svm-gamma", o.svm.gamma, "RBF gamma (0: 1/n_features)")->capture_default_str();
  app.add_flag("--no-texture", no_texture, "first-order features only (faster)");
  app.add_flag("--no-tsne", no_tsne, "PCA embeddings only");
  app.add_option("--mosaic-per-site", o.mosaic_per_site, "subjects per site in the mosaic")->capture_default_str();
  app.add_option("--threads", o.threads, "subjects processed in parallel (0: all cores)")->capture_default_str();
  app.add_flag("-q,--quiet", quiet, "no progress output");
  CLI11_PARSE(app, argc, argv);

  if (!o.data.mask_dir.empty()) o.data.mask_source = *md ? im::eval::MaskSource::mask_dir : im::eval::MaskSource::labels_dir;
  else if (auto_mask) o.data.mask_source = im::eval::MaskSource::auto_only;
  o.intensity = intensity == "as-is" ? im::io::NormMethod::none : im::io::parse_norm(intensity);
  if (!after_intensity.empty())
    o.after_intensity = after_intensity == "as-is" ? im::io::NormMethod::none : im::io::parse_norm(after_intensity);
  o.radiomics.texture = !no_texture;
  o.tsne = !no_tsne;

  std::string command;
  for (int i = 0; i < argc; ++i) command += (i ? " " : "") + std::string(argv[i]);
  try {
    const auto t0 = std::chrono::steady_clock::now();
    auto last = t0;
    std::mutex mu;
    auto progress = [&](int done, int total, const std::string& what) {
      if (quiet) return;
      const auto now = std::chrono::steady_clock::now();
      if (done != total && done != 1 && std::chrono::duration<double>(now - last).count() < 2) return;
      last = now;
      std::fprintf(stderr, "imunity-eval: [%d/%d] %s (%.1f s)\n", done, total, what.c_str(),
                   std::chrono::duration<double>(now - t0).count());
    };
    if (!quiet) std::fprintf(stderr, "imunity-eval: reading volumes and computing per-subject metrics and features...\n");
    const im::eval::EvalResults r = im::eval::evaluate(o, progress);
    if (!quiet) std::fprintf(stderr, "imunity-eval: writing the report...\n");
    im::eval::ReportInfo info;
    info.command = command;
    im::eval::write_report(r, out, info);
    for (const std::string& w : r.warnings) std::fprintf(stderr, "imunity-eval: warning: %s\n", w.c_str());
    // A short summary on stdout.
    std::printf("subjects %zu, sites %zu\n", r.subjects.size(), r.dataset.sites.size());
    if (r.has_truth && !r.site_summaries.empty()) {
      const auto& a = r.site_summaries.back();
      std::printf("SSIM raw %.4f -> harmonized %.4f  [%s]\n", a.raw_ssim2d_masked.mean, a.harm_ssim2d_masked.mean,
                  im::eval::ssim_convention(2, true, o.ssim, r.scaling).c_str());
    }
    if (r.site_task)
      std::printf("site accuracy %.3f -> %.3f (chance %.3f majority, %.3f 1/S); AUC %.3f -> %.3f\n", r.site_before.accuracy,
                  r.site_after.accuracy, r.site_before.majority_rate, r.site_before.uniform_chance, r.site_before.auc,
                  r.site_after.auc);
    if (r.sex_task) std::printf("sex accuracy %.3f -> %.3f (chance %.3f)\n", r.sex_before.accuracy, r.sex_after.accuracy, r.sex_before.majority_rate);
    if (r.age_task) std::printf("age MAE %.2f -> %.2f years (chance %.2f)\n", r.age_before.mae, r.age_after.mae, r.age_before.baseline_mae);
    std::printf("report: %s/report.html\n", out.c_str());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "imunity-eval: error: %s\n", e.what());
    return 1;
  }
  return 0;
}
