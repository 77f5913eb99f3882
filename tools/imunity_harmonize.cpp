// imunity-harmonize: T1-weighted volumes -> the contrast of a target (image, site or saved code),
// on each input's own grid, with sidecars; batches, BIDS derivatives and cluster shards.
#include <CLI/CLI.hpp>

#include <atomic>
#include <csignal>
#include <cstdio>

#include "engine/device.h"
#include "io/error.h"
#include "io/n4.h"
#include "io/nifti.h"
#include "kernels/cuda_api.h"
#include "tools/common/brain_mask.h"
#include "tools/harmonize/harmonize.h"
#include "tools/harmonize/harmonize_batch.h"
#include "tools/harmonize/harmonize_write.h"

using namespace im;

namespace {

const char* kDescription = R"(imunity-harmonize: harmonize T1-weighted MRI volumes to a target contrast with an ImUnity model.

For each input: read (NIfTI-1/2, .nii/.nii.gz) -> brain mask -> the preprocessing the checkpoint
records (N4 bias-field correction, canonical RAS, its voxel size, its intensity normalization, the
axial plane padded or cropped to the model's input) -> axial slices (slices with no voxel above the
model's background threshold pass through unchanged) -> the network, in batches, with the target's contrast code ->
slices put back -> the output stage, on the input's grid. The output has the input's exact shape,
affine, qform/sform (with codes) and orientation, in float32.

Output stage (--output):
  detail   (default) the input's OWN voxels, at the input's resolution, through a monotone intensity
           map that the network decides: every 2nd slice (--map-slice-step) is decoded twice from its
           anatomy code, under the volume's own contrast code and under the target's; a monotone map
           fitted between the two renderings inside the brain (they share the decoder's blur, so only
           the contrast change remains), averaged with histogram matching of the input's brain to
           the target's brain intensities (--network-weight: the network's share, 0.5), is applied
           to the input's normalized voxels. Nothing is added or moved: a structure of the input
           stays where it is, with its contrast to its surroundings changed only by the map. The map
           is in the sidecar ("output_stage"). An input noisier than the target (noise measured on
           the model's grid, over --noise-ratio x the target's, 1.1) is first brought to the
           target's noise level by non-local means (--no-denoise: never).
  decoder  the decoder's image itself (the paper's output), resampled to the input's grid: the
           anatomy as the model's coarse anatomy code (8 x 8 or 16 x 16 per slice) carries it, so
           fine detail is lost.

Bias field (--n4 / --no-n4): N4 (Tustison et al. 2010, through ITK) fitted inside the mask on a
grid of about 6 mm and divided out on the input's own grid before normalization, so the detail
stage maps the corrected voxels and the output is bias-corrected (docs/n4.md). Default: off, unless the model was trained on corrected volumes.
Its options, time and the field's range are in the sidecar ("preprocessing" -> "n4").

Thick slices (--thick-slices auto|on|off): a volume acquired in thick slices and re-sampled finer
(or blurred along one axis) has one voxel axis much smoother than the other two inside the brain
(energy of first differences along it, less what the noise adds, over the others': thin IXI scans
0.70-1.2, 4 mm slices on a 2 mm grid 0.5-0.6 at any noise). auto (default): below 0.65, and on a
grid within 25% of the one the thick-slice network was trained on (2 mm), that network
(imunity-thickslice-train; docs/thickslice-model-card.md) restores the through-plane detail first,
on the input's own grid, before everything else; the output is then made from the restored voxels.
Only voxels inside the mask change. on: restore along the smoothest axis whatever the measure and
grid; off: never. The sidecar's "thick_slices" records the measure per axis, what was done and why,
and its time. $IMUNITY_THICKSLICE_MODEL names other weights.

Output intensities: on the model's normalized scale ([0, 1], white matter near 0.7), unless
--restore-intensity maps them back through the inverse of the input's own normalization (input
units). Voxels outside the brain mask are 0, or with --outside keep the input's voxels on the same
scale as the output, or with --outside map (detail stage) those voxels through the same map.

Brain mask: --mask M (value > 0.5) or --labels L (label > 0), any grid, one file for every input;
--mask-dir D / --labels-dir D, one file per input, found by name (IN.nii.gz -> D/IN[_*].nii.gz, also
without a trailing _T1w); --brain-mask net: imunity's brain-extraction network on every input (and
on the --target-image unless it has its own mask; docs/brain-extraction.md); default --auto-mask
(= --brain-mask head): a head/foreground mask (Otsu + morphology), NOT skull stripping (scalp and
neck are harmonized too).

Target contrast (exactly one):
  --target-image T    the contrast encoder's mean code over the brain slices of volume T (after the
                      same preprocessing; mask by --target-mask/--target-labels, default automatic)
  --target-site NAME  the per-site mean code stored in the checkpoint at the end of training
  --target-code FILE  a code saved earlier with --save-code (checked against the model)
--save-code FILE writes the code in use, so that a study fixes its reference once; with no input
it only writes the code.

Outputs: OUT/<name>_desc-harmonized_T1w.nii.gz (name: the input file name without .nii[.gz] and a
trailing _T1w) and <same>.json (model SHA-256, target and code hash, options, preprocessing record,
version, device, time per stage). With --bids DIR: OUT/sub-X[/ses-Y]/anat/... for every
DIR/sub-X[/ses-Y]/anat/*_T1w.nii[.gz], and OUT/dataset_description.json (BIDS derivative). OUT
must not be the input folder. Volume and sidecar are written atomically, the sidecar last.

Reruns: an input whose outputs exist is skipped when its sidecar records the same input, model(s),
target and output-changing options and the volume matches the sidecar's SHA-256; a pair left
incomplete by a kill is redone; outputs of another run (another target, model, ...) fail that input
unless --overwrite. SIGINT/SIGTERM stop the batch (what the network finished is written, nothing
half-written stays; exit 130/143): running the same command again finishes it.

2.5D: --orientations all also harmonizes coronal and sagittal slices and takes the voxel-wise
median of the three. With one (axial) checkpoint the axial model is applied to all three
orientations (padded/cropped to its input size); --model-coronal/--model-sagittal give models
trained on those orientations (same preprocessing).

Batches: inputs are sorted by path; a reader thread prepares the next volume and a writer thread
finishes the previous one while the network runs. A bad input (missing, not NIfTI, empty mask, ...)
is reported with its problem and skipped. --shard I/N (0-based, I = 0..N-1) or --shard slurm
(from SLURM_ARRAY_TASK_ID/_MIN/_COUNT) keeps the inputs k with k mod N == I (docs/cluster.md).

Exit status: 0 every input harmonized or skipped as existing; 1 some inputs failed (listed);
2 usage, model, target or output-folder error (nothing harmonized); 128 + signal when stopped.

Examples:
  # towards a reference scan of the study (its code saved for later runs)
  imunity-harmonize --model model.safetensors --in sub01.nii.gz sub02.nii.gz --out-dir harmonized \
                    --target-image ref_T1w.nii.gz --save-code ref_code.json
  # towards a training site of the model
  imunity-harmonize --model model.safetensors --in-dir scans/ --out-dir harmonized --target-site IXI-HH
  # a BIDS dataset, towards the saved code, with brain masks from label maps, on the GPU
  imunity-harmonize --model model.safetensors --bids /data/study --out-dir /data/study/derivatives/imunity \
                    --target-code ref_code.json --labels-dir /data/study_labels --device cuda
  # fix the reference once (no input), then one shard of a SLURM array (docs/cluster.md)
  imunity-harmonize --model model.safetensors --target-image ref_T1w.nii.gz --save-code ref_code.json
  imunity-harmonize --model model.safetensors --in-dir scans/ --out-dir out --target-code ref_code.json --shard slurm)";

struct Args {
  std::string model, model_coronal, model_sagittal, in_dir, bids, out_dir;
  std::vector<std::string> in;
  std::string target_image, target_site, target_code, target_mask, target_labels;
  std::string mask, labels, mask_dir, labels_dir, brain_mask;
  bool auto_mask = false;
  std::string device = "auto", orientations = "axial", outside = "zero", save_code, shard, output = "detail",
              thick_slices = "auto";
  bool restore_intensity = false, overwrite = false, quiet = false, no_denoise = false, nan_to_zero = false,
       deterministic = false, n4 = false, no_n4 = false;
  int64_t batch_size = 0, volume = -1;
  int threads = 0, gzip_level = 1, io_threads = 0;
  io::IntensityMapOptions map;
  double network_weight = tools::HarmonizeOptions{}.network_weight;
  double noise_ratio = tools::HarmonizeOptions{}.noise_ratio;
  int map_slice_step = tools::HarmonizeOptions{}.map_slice_step;
};

nlohmann::json options_json(const Args& a) {
  return {{"output", a.output},             {"map_bins", a.map.bins},         {"map_flat_fraction", a.map.flat_fraction}, {"network_weight", a.network_weight},
          {"map_slice_step", a.map_slice_step}, {"denoise", !a.no_denoise}, {"noise_ratio", a.noise_ratio},       {"n4", a.n4 ? "on" : a.no_n4 ? "off" : "default"},       {"orientations", a.orientations}, {"outside", a.outside},   {"restore_intensity", a.restore_intensity},
          {"thick_slices", a.thick_slices},
          {"batch_size", a.batch_size},     {"device", a.device},     {"threads", a.threads},
          {"shard", a.shard},               {"gzip_level", a.gzip_level},
          {"io_threads", a.io_threads},     {"volume", a.volume},     {"nan_to_zero", a.nan_to_zero}};
}

// Options that change the outputs: a rerun takes existing outputs as done only with the same values.
const std::vector<std::string> kComparedOptions = {"output",  "map_bins", "map_flat_fraction", "network_weight", "map_slice_step", "denoise", "noise_ratio", "orientations",
                                                   "outside", "mask",     "restore_intensity", "volume", "nan_to_zero",
                                                   "thick_slices"};

io::ReadOptions read_options(const Args& a) {
  io::ReadOptions r;
  r.volume = a.volume;
  r.nonfinite = a.nan_to_zero ? io::NonFinite::zero : io::NonFinite::reject;
  return r;
}

// "interrupted by SIGTERM" and the exit status of a stopped run.
int stopped_exit(int sig, const std::string& what) {
  std::fprintf(stderr, "imunity-harmonize: interrupted by %s: %s; run the same command again to finish (complete outputs are skipped)\n",
               sig == SIGTERM ? "SIGTERM" : "SIGINT", what.c_str());
  return 128 + sig;
}

int run(const Args& a) {
  const std::atomic<int>& stop = tools::stop_on_signals();
  const bool have_inputs = !a.in.empty() || !a.in_dir.empty() || !a.bids.empty();
  if (!have_inputs && a.save_code.empty()) throw CLI::ValidationError("give inputs (--in, --in-dir or --bids), or --save-code alone");
  if (have_inputs && a.out_dir.empty()) throw CLI::ValidationError("--out-dir is required with inputs");
  for (const std::string* in : {&a.in_dir, &a.bids})
    if (!in->empty() && tools::same_folder(*in, a.out_dir))
      throw CLI::ValidationError("--out-dir is the same folder as the inputs (" + *in +
                                 "): a rerun would take the outputs for inputs; choose another folder" +
                                 (a.bids.empty() ? "" : " (for BIDS: " + a.bids + "/derivatives/imunity)"));

  // Usage-level checks first, before loading anything.
  std::vector<tools::BatchJob> jobs;
  if (have_inputs) {
    std::vector<std::string> inputs = a.in, relative;
    if (!a.in_dir.empty()) inputs = tools::list_nifti_dir(a.in_dir);
    std::vector<std::string> problems;
    if (!a.bids.empty()) inputs = tools::list_bids_t1w(a.bids, &relative, &problems);
    for (const std::string& p : problems) std::fprintf(stderr, "imunity-harmonize: warning: %s\n", p.c_str());
    if (inputs.empty()) throw io::Error("no input volume found" + (a.bids.empty() ? std::string() : " (sub-*/[ses-*/]anat/*_T1w.nii[.gz])"));
    jobs = tools::make_jobs(inputs, a.out_dir, relative);
    if (!a.shard.empty()) jobs = tools::select_shard(jobs, tools::parse_shard(a.shard));
    if (!a.mask_dir.empty()) tools::assign_mask_dir(jobs, a.mask_dir, io::MaskSpec::Kind::file);
    if (!a.labels_dir.empty()) tools::assign_mask_dir(jobs, a.labels_dir, io::MaskSpec::Kind::labels);
    for (auto& j : jobs) {
      if (!a.mask.empty()) j.mask = {io::MaskSpec::Kind::file, a.mask};
      if (!a.labels.empty()) j.mask = {io::MaskSpec::Kind::labels, a.labels};
      if (a.brain_mask == "net") j.mask = {io::MaskSpec::Kind::net, ""};
    }
  }
  if (a.threads > 0) set_num_threads(a.threads);
  cuda::set_deterministic(a.deterministic);
  const Device dev = parse_device(a.device);
  const std::string device_desc = device_description(dev);

  if (a.n4 && !io::n4_available()) throw io::Error("--n4: N4 bias-field correction is unavailable in this build (built without ITK)");
  tools::ModelSet models = tools::load_models(a.model, dev, a.orientations == "all", a.model_coronal, a.model_sagittal);
  const bool trained_n4 = models.prep.n4;
  models.prep.n4 = tools::harmonize_n4(a.n4 ? 1 : a.no_n4 ? 0 : -1, trained_n4);
  const auto& cfg = models.axial().info.model;
  std::fprintf(stderr, "imunity-harmonize: model %s (%dx%d, %.3g mm, %s), N4 %s, device %s\n", a.model.c_str(), cfg.image_w, cfg.image_h,
               models.prep.voxel_size, io::norm_name(models.prep.norm.method), models.prep.n4 ? "on" : "off", device_desc.c_str());
  if (trained_n4 && !models.prep.n4)
    std::fprintf(stderr, "imunity-harmonize: warning: the model was trained on N4-corrected volumes; %s\n",
                 io::n4_available() ? "--no-n4 gives it uncorrected ones" : "this build has no ITK, so its inputs stay uncorrected");
  if (models.borrows_axial_model())
    std::fprintf(stderr,
                 "imunity-harmonize: warning: --orientations all with one axial model: the model, trained on AXIAL slices, is "
                 "also applied to coronal and sagittal slices (padded/cropped to its input size) before the median fusion. "
                 "Give --model-coronal/--model-sagittal for models trained on those orientations.\n");

  tools::TargetCode target;
  if (!a.target_site.empty()) {
    target = tools::target_from_site(models, a.target_site);
  } else if (!a.target_code.empty()) {
    target = tools::read_target_code(a.target_code, models);
  } else {
    io::MaskSpec spec;
    if (a.brain_mask == "net") spec = {io::MaskSpec::Kind::net, ""};
    if (!a.target_mask.empty()) spec = {io::MaskSpec::Kind::file, a.target_mask};
    if (!a.target_labels.empty()) spec = {io::MaskSpec::Kind::labels, a.target_labels};
    const io::Volume t = io::read_volume(a.target_image, read_options(a));
    target = tools::target_from_volume(models, t, tools::load_any_mask(t, spec), a.target_image, spec.describe());
  }
  std::fprintf(stderr, "imunity-harmonize: target %s %s (code %s)\n", target.kind.c_str(), target.source.c_str(),
               target.for_model(models.axial()).sha256().substr(0, 12).c_str());
  if (!a.save_code.empty()) {
    tools::write_target_code(a.save_code, target, models, a.overwrite);
    std::fprintf(stderr, "imunity-harmonize: contrast code saved to %s\n", a.save_code.c_str());
  }
  if (!have_inputs) return 0;
  if (a.brain_mask == "net") {
    const auto& bm = tools::default_brain_mask_model();  // a missing or bad weight file stops here, not per input
    std::fprintf(stderr, "imunity-harmonize: brain masks by the network %s\n", bm.path.c_str());
  }
  if (stop) return stopped_exit(stop, "nothing harmonized");

  if (a.mask.empty() && a.labels.empty() && a.mask_dir.empty() && a.labels_dir.empty() && a.brain_mask != "net")
    std::fprintf(stderr, "imunity-harmonize: note: automatic mask: a head/foreground mask (Otsu + morphology), NOT skull "
                         "stripping; give --brain-mask net, --labels/--labels-dir or --mask/--mask-dir for brain masks.\n");
  tools::require_writable_folder(a.out_dir);
  if (!a.bids.empty()) tools::write_dataset_description(a.out_dir, a.overwrite);

  tools::BatchOptions bo;
  bo.harmonize.output = tools::parse_output_stage(a.output);
  bo.harmonize.map = a.map;
  bo.harmonize.denoise = !a.no_denoise;
  bo.harmonize.network_weight = a.network_weight;
  bo.harmonize.noise_ratio = a.noise_ratio;
  bo.harmonize.map_slice_step = a.map_slice_step;
  bo.harmonize.outside = tools::parse_outside(a.outside);
  if (bo.harmonize.outside == tools::Outside::map && bo.harmonize.output != tools::OutputStage::detail)
    throw CLI::ValidationError("--outside map needs --output detail (the decoder stage has no map to apply)");
  bo.harmonize.restore_intensity = a.restore_intensity;
  bo.harmonize.thick_slices.mode = tools::parse_thick_slice_mode(a.thick_slices);
  if (bo.harmonize.thick_slices.mode != tools::ThickSliceMode::off) {
    const auto& ts = tools::default_thick_slice_model();  // a missing or bad weight file stops here, not per input
    if (!a.quiet) std::fprintf(stderr, "imunity-harmonize: thick-slice detection (%s), restoration weights %s\n", a.thick_slices.c_str(), ts.path.c_str());
  }
  bo.harmonize.batch_size = a.batch_size;
  bo.read = read_options(a);
  bo.overwrite = a.overwrite;
  bo.quiet = a.quiet;
  bo.gzip_level = a.gzip_level;
  // The GPU outruns one reader (read, mask, prepare take ~0.1-1 s a volume on one core).
  bo.io_threads = a.io_threads > 0 ? a.io_threads : dev == Device::CUDA ? 4 : 1;
  bo.device_description = device_desc;
  bo.options = options_json(a);
  bo.options["mask"] = !a.mask.empty() ? "mask:" + a.mask : !a.labels.empty() ? "labels:" + a.labels
                       : !a.mask_dir.empty() ? "mask-dir:" + a.mask_dir : !a.labels_dir.empty() ? "labels-dir:" + a.labels_dir
                       : a.brain_mask == "net" ? "net" : "auto";
  bo.compared_options = kComparedOptions;
  bo.stop = &stop;
  const std::vector<tools::JobResult> results = tools::run_batch(models, target, jobs, bo);

  int done = 0, skipped = 0, failed = 0, not_started = 0;
  for (const auto& r : results) {
    for (const std::string& note : r.notes) std::fprintf(stderr, "imunity-harmonize: %s\n", note.c_str());
    if (r.status == tools::JobResult::Status::done) ++done;
    if (r.status == tools::JobResult::Status::skipped) {
      ++skipped;
      std::fprintf(stderr, "imunity-harmonize: skipped %s\n", r.message.c_str());
    }
    if (r.status == tools::JobResult::Status::failed) ++failed;
    if (r.status == tools::JobResult::Status::not_started) ++not_started;
  }
  std::printf("imunity-harmonize: %zu input(s): %d harmonized, %d skipped (existing), %d failed%s -> %s\n", results.size(), done,
              skipped, failed, not_started ? (", " + std::to_string(not_started) + " not started").c_str() : "", a.out_dir.c_str());
  std::fflush(stdout);
  for (const auto& r : results)
    if (r.status == tools::JobResult::Status::failed) std::fprintf(stderr, "imunity-harmonize: FAILED %s\n", r.message.c_str());
  if (stop) return stopped_exit(stop, std::to_string(done) + " harmonized, " + std::to_string(not_started) + " not started");
  return failed ? 1 : 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{kDescription, "imunity-harmonize"};
  Args a;
  app.add_option("--model", a.model, "checkpoint (model.safetensors from imunity-train)")->required()->check(CLI::ExistingFile);
  app.add_option("--model-coronal", a.model_coronal, "2.5D: a model trained on coronal slices")->check(CLI::ExistingFile);
  app.add_option("--model-sagittal", a.model_sagittal, "2.5D: a model trained on sagittal slices")->check(CLI::ExistingFile);
  auto* in = app.add_option("--in", a.in, "input volume(s) (.nii/.nii.gz)");
  auto* in_dir = app.add_option("--in-dir", a.in_dir, "every .nii/.nii.gz directly in this folder");
  auto* bids = app.add_option("--bids", a.bids, "a BIDS dataset: every sub-*/[ses-*/]anat/*_T1w.nii[.gz]");
  in->excludes(in_dir)->excludes(bids);
  in_dir->excludes(bids);
  app.add_option("--out-dir", a.out_dir, "output folder (created)");
  auto* ti = app.add_option("--target-image", a.target_image, "target contrast: the mean code of this volume's brain slices");
  auto* ts = app.add_option("--target-site", a.target_site, "target contrast: a site code stored in the checkpoint");
  auto* tc = app.add_option("--target-code", a.target_code, "target contrast: a code file written by --save-code");
  ti->excludes(ts)->excludes(tc);
  ts->excludes(tc);
  app.add_option("--target-mask", a.target_mask, "brain mask of the --target-image (default: automatic)")->needs(ti);
  app.add_option("--target-labels", a.target_labels, "label map of the --target-image (label > 0 is brain)")->needs(ti);
  app.add_option("--save-code", a.save_code, "write the target's contrast code to this JSON file (reuse with --target-code)");
  std::vector<CLI::Option*> masks = {
      app.add_option("--mask", a.mask, "brain mask for every input (value > 0.5; any grid)"),
      app.add_option("--labels", a.labels, "label map for every input (label > 0 is brain; any grid)"),
      app.add_flag("--auto-mask", a.auto_mask, "automatic head/foreground mask (the default; not skull stripping)"),
      app.add_option("--mask-dir", a.mask_dir, "folder of per-input mask files, found by name"),
      app.add_option("--labels-dir", a.labels_dir, "folder of per-input label maps, found by name"),
      app.add_option("--brain-mask", a.brain_mask, "net (the brain-extraction network) or head (= --auto-mask)")
          ->check(CLI::IsMember({"net", "head"}))};
  for (auto* m : masks)
    for (auto* n : masks)
      if (m != n) m->excludes(n);
  app.add_option("--device", a.device, "cpu, cuda, cuda:N (the N-th GPU) or auto (cuda when usable)")->default_val("auto")
      ->check([](const std::string& d) { return device_spelling_error(d); });
  app.add_flag("--deterministic", a.deterministic,
               "the same output bytes in every run on the same GPU (cuDNN algorithms chosen by heuristics, not by timing; "
               "the CPU is always deterministic)");
  app.add_option("--orientations", a.orientations, "axial, or all (2.5D: axial, coronal, sagittal, median-fused)")
      ->default_val("axial")->check(CLI::IsMember({"axial", "all"}));
  app.add_option("--output", a.output, "detail (the input's voxels through the network's contrast map) or decoder (the paper's output)")
      ->default_val("detail")->check(CLI::IsMember({"detail", "decoder"}));
  app.add_option("--map-bins", a.map.bins, "detail stage: equal-count bins of the contrast map")
      ->default_val(a.map.bins)->check(CLI::Range(2, 1024));
  app.add_option("--map-flat-fraction", a.map.flat_fraction,
                 "detail stage: the map is fitted on this fraction of the brain voxels, the flattest (1: all)")
      ->default_val(a.map.flat_fraction)->check(CLI::Range(0.05, 1.0));
  app.add_option("--network-weight", a.network_weight,
                 "detail stage: weight of the network's contrast map; the rest is histogram matching of the brain's "
                 "intensities to the target's (its stored site quantiles, or the target image's). 1: the network alone")
      ->default_val(a.network_weight)->check(CLI::Range(0.0, 1.0));
  app.add_option("--map-slice-step", a.map_slice_step,
                 "detail stage: the network renders every k-th axial slice to fit the (global) contrast map, at 1/k of "
                 "its time; 1: every slice (models of several orientations and brains under 16 slices: always 1)")
      ->default_val(a.map_slice_step)->check(CLI::Range(1, 8));
  app.add_flag("--no-denoise", a.no_denoise, "detail stage: never reduce the input's noise to the target's level");
  app.add_option("--noise-ratio", a.noise_ratio,
                 "detail stage: denoise an input whose noise exceeds the target's by more than this factor (measured "
                 "on the model's grid; non-local means takes away the excess only)")
      ->default_val(a.noise_ratio)->check(CLI::Range(1.0, 100.0));
  app.add_option("--outside", a.outside,
                 "voxels outside the mask: zero, keep (the input on the output's scale), or map (through the detail "
                 "stage's map, like the brain)")
      ->default_val("zero")->check(CLI::IsMember({"zero", "keep", "map"}));
  app.add_option("--thick-slices", a.thick_slices,
                 "auto: restore volumes detected as acquired in thick slices (one axis much smoother than the others) "
                 "with the thick-slice network first; on: always, along the smoothest axis; off: never")
      ->default_val("auto")->check(CLI::IsMember({"auto", "on", "off"}));
  auto* n4 = app.add_flag("--n4", a.n4, "N4 bias-field correction inside the mask before normalization" +
                                         std::string(io::n4_available() ? "" : " (UNAVAILABLE in this build: no ITK)"));
  app.add_flag("--no-n4", a.no_n4, "no bias-field correction (unless the model was trained with it, a warning then)")->excludes(n4);
  app.add_flag("--restore-intensity", a.restore_intensity, "output in the input's units (inverse of its normalization)");
  app.add_option("--batch-size", a.batch_size, "slices per network call (0: as many as fit ~24 MiB on the CPU, 8 slices of 128 x 128, the fastest measured; 4 GiB on a GPU)")
      ->default_val(0)->check(CLI::NonNegativeNumber);
  app.add_option("--shard", a.shard, "I/N: the I-th (0-based) of N parts of the sorted inputs; or \"slurm\"");
  app.add_flag("--overwrite", a.overwrite, "replace existing outputs (default: skip those of the same run, refuse others)");
  app.add_option("--volume", a.volume, "for 4-D inputs: the volume to harmonize (0-based; 4-D input is refused without it)")
      ->check(CLI::NonNegativeNumber);
  app.add_flag("--nan-to-zero", a.nan_to_zero, "replace NaN/Inf input voxels by 0 (default: such an input fails)");
  app.add_option("--threads", a.threads, "CPU threads of the network (default: all cores)")->check(CLI::NonNegativeNumber);
  app.add_option("--io-threads", a.io_threads, "reader and writer threads each (default: 1 on the CPU, 4 with a GPU)")
      ->default_val(0)->check(CLI::NonNegativeNumber);
  app.add_option("--gzip-level", a.gzip_level, "gzip level of the outputs (0-12)")->default_val(1)->check(CLI::Range(0, 12));
  app.add_flag("--quiet", a.quiet, "no progress bar");
  try {
    app.parse(argc, argv);
    if (!ti->count() && !ts->count() && !tc->count())
      throw CLI::ValidationError("a target is required: --target-image, --target-site or --target-code");
    return run(a);
  } catch (const CLI::Success& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "imunity-harmonize: error: %s\n", e.what());
    return 2;
  }
}
