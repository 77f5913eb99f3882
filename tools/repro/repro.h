// The reproducibility run of imunity-repro: held-out IXI subjects as travelling subjects through
// seen and unseen virtual sites, harmonized back to the reference site by ImUnity and by the
// baselines, scored by SSIM against the real image, plus site classification before and after; the
// table in the layout of the paper's Table 2 (docs/reproducibility.md).
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "eval/classify.h"
#include "eval/dataset.h"
#include "eval/evaluate.h"
#include "eval/histmatch.h"
#include "eval/image.h"
#include "eval/plot.h"
#include "eval/radiomics.h"
#include "eval/ssim.h"
#include "eval/stats.h"
#include "tools/harmonize/harmonize.h"

namespace im::tools {

struct ReproOptions {
  std::string model;  // checkpoint (e.g. model/weights/imunity-default-2mm.safetensors)
  std::string data;   // the shared data folder (holding ixi_hh_2mm/), or ixi_hh_2mm itself
  std::string out;    // output folder: table.md, results.json, mosaic.png
  int subjects = 20;  // the first N IXI subjects, sorted by file name: never seen in training
  int reference_subject = -1;  // 0-based index (sorted) of the reference-site image used as target image
                               // and histogram-matching reference; -1: `subjects` (the first after them)
  std::vector<std::string> seen{"low_contrast", "high_contrast_15t", "thick_slices"};
  std::vector<std::string> unseen{"mild", "noisy", "bias_heavy"};
  std::string reference = "ixi_hh";  // the real IXI-HH site: ground truth, and the model's target site
  std::string sites_dir;             // where site names are looked up (<dir>/<name>.json); "" = search
  uint64_t seed = 2026;              // io::simulate_site seed (the one tools/make-default-model.sh uses)
  std::string training_manifest;     // optional: the model's training manifest; a test subject in it is an error
  std::string model_mask = "brain";  // mask given to ImUnity: "brain" (the IXI labels, as the
                                     // baselines get) or "auto" (the automatic head mask)
  std::string device = "auto";
  HarmonizeOptions harmonize;        // ImUnity's output stage (its map options); output and outside are set per row
  int n4 = -1;  // ImUnity's inputs N4-corrected: 1 yes, 0 no, -1 as imunity-harmonize's default (harmonize_n4)
  bool classification = true;
  eval::SvmOptions svm;
  eval::CvOptions cv;
  double alpha = 1e-3;  // feature selection p-value threshold
  bool quiet = false;
  std::string command;  // echoed into results.json
};

// The methods compared, in table order.
enum ReproMethod : int { kNone, kWmPeak, kWhiteStripe, kHistMatch, kN4HistMatch, kImUnityDecoder, kImUnitySite, kImUnityImage, kMethodCount };
// ImUnity's rows (the paper's decoder output, then the detail-preserving output towards the site
// code and towards the reference image) and the baselines they are set against, in report order.
constexpr int kImUnityMethods[] = {kImUnityDecoder, kImUnitySite, kImUnityImage};
constexpr int kBaselineMethods[] = {kN4HistMatch, kHistMatch, kWmPeak, kWhiteStripe, kNone};
struct ReproMethodInfo {
  const char* key;    // results.json
  const char* label;  // the table
  const char* description;
};
const ReproMethodInfo& repro_method(int m);

// A source of images: the reference site itself (a check: the real image), or a virtual site.
struct ReproSource {
  std::string name;
  std::string group;        // "reference", "seen" or "unseen" (as the user declared)
  bool in_checkpoint = false;  // a site of the model's checkpoint (what "seen" should mean)
  std::string file, description;
};

// One subject, one source, one method. NaN where not computed.
struct ReproCell {
  double ssim = 0;        // 2-D axial SSIM, mean over brain voxels, mean over slices (the table)
  double ssim_image = 0;  // the same slices, mean over the whole slice
  double mae = 0;         // mean |x - truth| over the brain
  double w1_truth = 0;    // Wasserstein-1 of the brain intensities against the truth's
  double w1_reference = 0;  // ... against the reference image's (another subject)
  // Through-slice correlation of fine detail (eval/texture.h) at 1 and 10 slices (2 and 20 mm).
  double texture_lag1 = 0, texture_lag10 = 0;
};

struct ReproSubject {
  std::string key;   // e.g. IXI013-HH-1212_T1 (what imunity-simulate calls it)
  std::string path;
  int64_t brain_voxels = 0;
  std::vector<std::vector<ReproCell>> cells;                   // [source][method]
  std::vector<std::vector<std::vector<double>>> features;      // [source][method] radiomic features
  std::vector<std::vector<double>> seconds;                    // [source][method] time to produce the image
};

// A column of the table: one source, or a group of them (mean +- sd over subject x source pairs).
struct ReproColumn {
  std::string key, label;
  std::vector<int> sources;
  bool check = false;  // the reference against itself: a sanity check, not a result
};

// One test subject's real image harmonized towards one site code of the model: does the target
// change the contrast? Brain-intensity quartiles of each output stage, and the mean absolute
// difference in the brain from the output towards the reference site.
struct ReproSiteCode {
  std::string site;
  double decoder_q[3] = {0, 0, 0}, detail_q[3] = {0, 0, 0};  // 25th, 50th, 75th percentiles
  double decoder_mad = 0, detail_mad = 0;                     // vs the reference site's output
};

struct ReproResults {
  ReproOptions options;
  std::vector<ReproSource> sources;  // [0] is the reference site itself
  std::vector<ReproSubject> subjects;
  std::string reference_image;       // path of the reference-site image (target image, histogram reference)
  std::string held_out;              // how the test subjects are known to be held out of training
  std::string model_sha256, model_summary;
  int64_t model_step = 0;
  std::vector<std::string> model_sites;
  std::string device_description;
  std::string machine;  // CPU model and core count (/proc/cpuinfo)
  std::string ssim_convention, truth_convention;
  std::vector<std::string> feature_names;
  std::vector<int> feature_columns;  // finite for every image of every method
  bool site_task = false;
  std::string site_note;
  eval::Selection site_selection;    // on the no-harmonization images (the paper's "before")
  std::vector<eval::ClassificationResult> site_accuracy;  // per method
  std::vector<std::vector<eval::Tile>> mosaic;  // rows: sources; columns: input, methods, truth
  std::vector<std::string> mosaic_rows, mosaic_columns;
  std::vector<std::string> warnings;
  std::vector<ReproSiteCode> site_codes;  // the first test subject towards every site of the model
  std::string site_code_subject;
  double seconds = 0;
};

using ReproProgress = std::function<void(const std::string&)>;

// Resolves a site name to its JSON file: the name itself when it is a file, else <sites_dir>/<name>.json,
// else docs/sites/<name>.json under the working folder or beside the executable's build tree.
std::string find_site_file(const std::string& name, const std::string& sites_dir);

// The whole run. Throws io::Error (missing data, unknown site, a model without the reference site).
ReproResults run_repro(const ReproOptions& options, const ReproProgress& progress = nullptr);

// Table columns: each seen site, each unseen site, all seen, all unseen, then the reference check.
std::vector<ReproColumn> repro_columns(const ReproResults& r);
// SSIM of one method over a column's subject x source pairs.
eval::MeanSd column_ssim(const ReproResults& r, const ReproColumn& c, int method);
// The Markdown report (table, verdict lines, published numbers, site classification, conventions).
std::string repro_markdown(const ReproResults& r);
nlohmann::json repro_json(const ReproResults& r);
// table.md, results.json and mosaic.png in options.out (created), each written atomically.
void write_repro_outputs(const ReproResults& r);

}  // namespace im::tools
