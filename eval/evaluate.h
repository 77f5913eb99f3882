// The whole evaluation of a harmonization run: per subject similarity to the ground truth,
// intensity histograms, radiomic features and mosaic slices; then site classification, biological
// preservation and embeddings over all subjects, before and after harmonization.
#pragma once
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "eval/classify.h"
#include "eval/dataset.h"
#include "eval/embed.h"
#include "eval/plot.h"
#include "eval/radiomics.h"
#include "eval/ssim.h"
#include "eval/stats.h"
#include "io/normalize.h"

namespace im::eval {

struct EvalOptions {
  DatasetOptions data;
  // How every volume (before, after, truth) is put on the [0,1] scale the metrics assume:
  // wm_peak (default): the project's normalization inside the subject's brain mask (WM peak at 0.7,
  // clipped to [0,1]); white_stripe; none: voxels used as they are (they should already be in [0,1]).
  io::NormMethod intensity = io::NormMethod::wm_peak;
  // The harmonized volumes' own scaling, when it differs: imunity-harmonize writes on the model's
  // scale already ([0,1], WM near 0.7), and renormalizing would hide a WM shift the model left.
  std::optional<io::NormMethod> after_intensity;
  SsimOptions ssim;
  RadiomicsOptions radiomics;
  SvmOptions svm;
  CvOptions cv;
  double alpha = 1e-3;          // feature selection threshold (Pearson / ANOVA p-value vs site)
  bool tsne = true;             // t-SNE embeddings besides PCA (exact: skipped above 600 subjects)
  int mosaic_per_site = 1;      // subjects shown per site in the mosaic
  int mosaic_max = 8;           // rows at most
  int hist_bins = 100;          // intensity histogram bins over [0, 1]
  int threads = 0;              // subjects processed in parallel; 0: OpenMP's default
};

struct Similarity {             // one image against the ground truth; NaN when not computed
  double ssim2d_masked = 0, ssim2d = 0, ssim3d_masked = 0, ssim3d = 0, psnr = 0, mae = 0;
};

struct SubjectResult {
  Subject subject;
  int site_index = -1;
  int64_t brain_voxels = 0;
  bool has_truth = false;
  Similarity raw, harmonized;   // before vs truth, after vs truth
  std::vector<double> features_before, features_after;
  std::vector<double> hist_before, hist_after, hist_truth;  // densities over [0, 1]
  bool in_mosaic = false;
  Tile tile_before, tile_after, tile_truth;                 // axial slice through the brain's centre
  int64_t mosaic_slice = -1;
};

// Mean and sample standard deviation (ddof 1) over subjects.
struct MeanSd {
  double mean = 0, sd = 0;
  int n = 0;
};
MeanSd mean_sd(const std::vector<double>& v);  // NaN left out; any +inf (PSNR) makes the mean inf, sd NaN

struct SiteSummary {
  std::string site;
  int n = 0;
  MeanSd raw_ssim2d_masked, harm_ssim2d_masked, raw_ssim2d, harm_ssim2d, raw_ssim3d_masked, harm_ssim3d_masked,
      raw_ssim3d, harm_ssim3d, raw_psnr, harm_psnr, raw_mae, harm_mae;
};

struct EvalResults {
  EvalOptions options;
  Dataset dataset;
  std::string scaling;                 // how intensities were brought to [0,1], in words
  std::vector<std::string> feature_names;
  std::vector<int> feature_columns;    // columns finite for every subject, before and after
  std::vector<SubjectResult> subjects;
  bool has_truth = false;
  std::vector<SiteSummary> site_summaries;  // per site, then "all" last (when truth is given)
  // Site classification (experiment 2 of the paper).
  bool site_task = false;
  std::string site_note;
  Selection site_selection;            // on the before features (the paper's protocol), over feature_columns
  ClassificationResult site_before, site_after;
  // Biological preservation.
  bool sex_task = false, age_task = false;
  std::string sex_note, age_note;
  std::vector<std::string> sex_classes;
  ClassificationResult sex_before, sex_after;
  RegressionResult age_before, age_after;
  // Embeddings of the features (finite columns, standardized), coloured by site.
  Pca pca_before, pca_after;
  Matrix tsne_before, tsne_after;
  std::vector<std::string> warnings;
  double seconds = 0;
};

// Called after each subject: (subjects done, total, what was done).
using ProgressFn = std::function<void(int, int, const std::string&)>;

// Runs everything; throws io::Error naming the file on unreadable volumes, mismatched grids,
// empty masks or a normalization that fails.
EvalResults evaluate(const EvalOptions& options, const ProgressFn& progress = nullptr);

// Summaries per site (and "all") of the similarity metrics.
std::vector<SiteSummary> summarize_sites(const std::vector<SubjectResult>& subjects, const std::vector<std::string>& sites);

}  // namespace im::eval
