// imunity-brainmask: brain masks (and optionally brain-only images) of T1-weighted volumes with the
// brain-mask network, on each input's own grid, with sidecars; batches and cluster shards.
#include <CLI/CLI.hpp>

#include <chrono>
#include <cstdio>
#include <filesystem>

#include "engine/device.h"
#include "io/atomic_file.h"
#include "io/error.h"
#include "io/nifti.h"
#include "tools/common/brain_mask.h"
#include "tools/common/batch_inputs.h"
#include "tools/common/progress.h"

namespace fs = std::filesystem;
using namespace im;

namespace {

const char* kDescription = R"(imunity-brainmask: brain extraction (skull stripping) of T1-weighted MRI with a small U-Net.

For each input (NIfTI-1/2, .nii/.nii.gz, any orientation, voxel size and intensity units):
canonical RAS -> the network's grid (2 mm isotropic for the shipped weights, anti-aliased) ->
intensities divided by their 99.5th percentile -> every axial slice with its neighbours through
the network -> the brain probability brought back to the input's grid (trilinear) -> threshold
(--threshold) -> the largest connected component -> enclosed holes filled.

Outputs, on the input's exact grid (shape, affine, qform/sform with codes):
  OUT/<name>_desc-brain_mask.nii.gz   uint8, 1 = brain
  OUT/<name>_desc-brain_T1w.nii.gz    with --brain: the input with voxels outside the mask set to 0
                                      (the input's datatype)
  OUT/<name>_desc-brain_mask.json     sidecar: input, model and its SHA-256, options, brain volume,
                                      slices run, time per stage, version
where <name> is the input file name without .nii[.gz] and a trailing _T1w. The outputs of an
input are written atomically, together. Existing outputs are skipped (reported) unless
--overwrite, so an interrupted batch resumes by running the same command again.

The mask covers the brain as the IXI-HH DLMUSE labels define it (cerebrum, cerebellum, brainstem
down to the foramen magnum, ventricles and the CSF of the sulci), not the skull, scalp, eyes or
neck. Figures and pictures: docs/brain-extraction.md; the weights: docs/brainmask-model-card.md.

Batches: inputs sorted by path; a bad input (missing, not NIfTI, no brain found, ...) is reported
and skipped, the others go on. --shard I/N (0-based) or --shard slurm keeps the inputs k with
k mod N == I (docs/cluster.md).

Exit status: 0 every input done or skipped as existing; 1 some inputs failed (listed); 2 usage or
model error (nothing done).

Examples:
  imunity-brainmask --in sub01_T1w.nii.gz --out-dir masks
  imunity-brainmask --in-dir scans/ --out-dir masks --brain --shard slurm)";

struct Args {
  std::vector<std::string> in;
  std::string in_dir, out_dir, model, shard;
  bool brain = false, overwrite = false, quiet = false, no_largest = false, no_fill = false;
  float threshold = 0.5f;
  int threads = 0, gzip_level = 1;
};

struct Job {
  std::string input, name, mask, brain, sidecar;
};

double ms_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t).count();
}

// One input: read, predict, write the outputs together.
void run_job(const Job& j, const tools::BrainMaskModel& model, const tools::BrainMaskOptions& bo, const Args& a) {
  auto t = std::chrono::steady_clock::now();
  const io::Volume input = io::read_volume(j.input);
  nlohmann::json timings = {{"read", ms_since(t)}};
  t = std::chrono::steady_clock::now();
  tools::BrainMaskResult r;
  try {
    r = tools::predict_brain_mask(*model.net, input, bo);
  } catch (const std::exception& e) {
    io::fail(j.input, e.what());
  }
  timings["prepare"] = 1000 * r.seconds_prepare;
  timings["network"] = 1000 * r.seconds_network;
  timings["finish"] = 1000 * r.seconds_finish;
  timings["mask_total"] = ms_since(t);

  t = std::chrono::steady_clock::now();
  io::WriteOptions wo;
  wo.gzip_level = a.gzip_level;
  wo.keep_datatype = true;
  io::Volume mv = input;
  mv.header.datatype = io::dtype::uint8;
  mv.header.scl_slope = 1, mv.header.scl_inter = 0;
  mv.header.cal_min = 0, mv.header.cal_max = 1;
  mv.header.intent_code = 0;
  mv.header.descrip = "imunity-brainmask brain mask";
  for (size_t i = 0; i < mv.data.size(); ++i) mv.data[i] = r.mask[i];
  io::AtomicFileSet files;
  files.add(j.mask, io::encode_volume(mv, true, wo));
  if (a.brain) {
    io::Volume bv = input;
    for (size_t i = 0; i < bv.data.size(); ++i)
      if (!r.mask[i]) bv.data[i] = 0;
    files.add(j.brain, io::encode_volume(bv, true, wo));
  }
  timings["encode"] = ms_since(t);
  const io::Vec3 vox = input.voxel_size();
  nlohmann::json side = {
      {"tool", "imunity-brainmask"},
      {"version", IMUNITY_VERSION},
      {"input", j.input},
      {"mask", j.mask},
      {"brain", a.brain ? nlohmann::json(j.brain) : nlohmann::json(nullptr)},
      {"model", {{"path", model.path}, {"sha256", model.sha256}, {"config", model.net->config()}}},
      {"options", {{"threshold", bo.threshold}, {"largest_component", bo.largest_component}, {"fill_holes", bo.fill_holes}}},
      {"brain_volume_ml", static_cast<double>(io::mask_count(r.mask)) * vox[0] * vox[1] * vox[2] / 1000},
      {"slices", {{"network_grid", r.slices_total}, {"run", r.slices_run}}},
      {"timings_ms", timings}};
  files.add(j.sidecar, side.dump(2) + "\n");
  files.commit(a.overwrite);
}

int run(const Args& a) {
  std::vector<std::string> inputs = a.in;
  if (!a.in_dir.empty()) inputs = tools::list_nifti_dir(a.in_dir);
  if (inputs.empty()) throw io::Error("no input volume found in " + a.in_dir);
  std::vector<tools::BatchJob> hjobs = tools::make_jobs(inputs, a.out_dir);
  if (!a.shard.empty()) hjobs = tools::select_shard(hjobs, tools::parse_shard(a.shard));
  if (a.threads > 0) set_num_threads(a.threads);

  const std::string model_path = a.model.empty() ? tools::default_brain_mask_model_path() : a.model;
  const std::unique_ptr<tools::BrainMaskModel> model = tools::load_brain_mask_model(model_path, Device::CPU);
  std::fprintf(stderr, "imunity-brainmask: model %s (%.3g mm grid), %d CPU threads\n", model_path.c_str(),
               model->net->config().voxel_mm, num_threads());
  tools::BrainMaskOptions bo;
  bo.threshold = a.threshold;
  bo.largest_component = !a.no_largest;
  bo.fill_holes = !a.no_fill;
  fs::create_directories(a.out_dir);

  tools::Progress progress(static_cast<int64_t>(hjobs.size()), "brainmask", !a.quiet);
  int done = 0, skipped = 0;
  std::vector<std::string> failed;
  for (size_t k = 0; k < hjobs.size(); ++k) {
    const fs::path dir(a.out_dir);
    Job j{hjobs[k].input, hjobs[k].name, (dir / (hjobs[k].name + "_desc-brain_mask.nii.gz")).string(),
          (dir / (hjobs[k].name + "_desc-brain_T1w.nii.gz")).string(), (dir / (hjobs[k].name + "_desc-brain_mask.json")).string()};
    std::string status = " ok";
    const bool exists = fs::exists(j.mask) && fs::exists(j.sidecar) && (!a.brain || fs::exists(j.brain));
    if (exists && !a.overwrite) {
      ++skipped, status = " skipped";
      std::fprintf(stderr, "imunity-brainmask: skipped %s: exists (use --overwrite to replace it)\n", j.mask.c_str());
    } else {
      try {
        run_job(j, *model, bo, a);
        ++done;
      } catch (const std::exception& e) {
        const std::string msg = e.what();
        failed.push_back(msg.rfind(j.input, 0) == 0 ? msg : j.input + ": " + msg);
        status = " FAILED";
      }
    }
    progress.update(static_cast<int64_t>(k + 1), j.name + status);
  }
  progress.finish(std::to_string(done + skipped) + " of " + std::to_string(hjobs.size()) + " ok");
  std::printf("imunity-brainmask: %zu input(s): %d masked, %d skipped (existing), %zu failed -> %s\n", hjobs.size(), done,
              skipped, failed.size(), a.out_dir.c_str());
  for (const std::string& f : failed) std::fprintf(stderr, "imunity-brainmask: FAILED %s\n", f.c_str());
  return failed.empty() ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{kDescription, "imunity-brainmask"};
  Args a;
  auto* in = app.add_option("--in", a.in, "input volume(s) (.nii/.nii.gz)");
  auto* in_dir = app.add_option("--in-dir", a.in_dir, "every .nii/.nii.gz directly in this folder");
  in->excludes(in_dir);
  app.add_option("--out-dir", a.out_dir, "output folder (created)")->required();
  app.add_option("--model", a.model, "brain-mask weights (default: $IMUNITY_BRAINMASK_MODEL or the shipped "
                                     "model/weights/brainmask-2mm.safetensors)")->check(CLI::ExistingFile);
  app.add_flag("--brain", a.brain, "also write the brain-only image (<name>_desc-brain_T1w.nii.gz)");
  app.add_option("--threshold", a.threshold, "brain probability threshold")->default_val(0.5)->check(CLI::Range(0.01, 0.99));
  app.add_flag("--no-largest-component", a.no_largest, "keep every component above the threshold");
  app.add_flag("--no-fill-holes", a.no_fill, "do not fill enclosed holes");
  app.add_option("--shard", a.shard, "I/N: the I-th (0-based) of N parts of the sorted inputs; or \"slurm\"");
  app.add_flag("--overwrite", a.overwrite, "replace existing outputs (default: skip them)");
  app.add_option("--threads", a.threads, "CPU threads (default: all cores)")->check(CLI::NonNegativeNumber);
  app.add_option("--gzip-level", a.gzip_level, "gzip level of the outputs (0-12)")->default_val(1)->check(CLI::Range(0, 12));
  app.add_flag("--quiet", a.quiet, "no progress bar");
  try {
    app.parse(argc, argv);
    if (a.in.empty() && a.in_dir.empty()) throw CLI::ValidationError("give --in or --in-dir");
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  try {
    return run(a);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "imunity-brainmask: error: %s\n", e.what());
    return 2;
  }
}
