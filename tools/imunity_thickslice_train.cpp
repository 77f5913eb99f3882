// imunity-thickslice-train: trains the thick-slice restoration network on thin-slice T1 volumes.
#include <CLI/CLI.hpp>

#include <atomic>
#include <csignal>
#include <cstdio>

#include "engine/device.h"
#include "io/error.h"
#include "tools/thickslice/thickslice_train.h"

using namespace im;

namespace {
std::atomic<bool> g_interrupted{false};
void on_signal(int) { g_interrupted = true; }

const char* kDescription = R"(imunity-thickslice-train: train the thick-slice restoration network (a small residual 2-D CNN)
that imunity-harmonize runs on volumes acquired in thick slices before it maps their intensities.

Data: DATA/t1/<name>.nii[.gz] and DATA/labels/<name>_*.nii[.gz] (label > 0 is brain), thin-slice
volumes on the grid the network will serve (the shipped one: ../shared/data/ixi_hh_2mm, 2 mm).
Sorted by file name, the first --test subjects are held out (never read), the next --validation
subjects choose the best step, the rest train.

Training pairs are made on the fly: a patch of a plane that contains a random voxel axis (the
network sees that axis along its width), intensities over the brain's 90th percentile through a
random gamma, and as input the same patch degraded along that axis: block means of 2-4 voxels
(random phase) re-interpolated, as a thick-slice acquisition resampled finer (70%), a Gaussian
blur of 0.4-1.2 voxels (15%), or nothing (15%: thin input must come back unchanged), plus Gaussian
noise up to --max-noise. Loss: L1 to the thin patch; Adam with a warm-up and cosine decay.
Validation (every --validate-every steps): brain L1 of whole validation volumes to their thin
selves after restoration, for 6 mm slices, noisy 4 mm slices and thin input.

Outputs in OUT: thickslice.safetensors (the best validated state: copy it to
model/weights/thickslice-2mm.safetensors to ship it) and log.jsonl. A run takes minutes; there is
no resume (SIGINT stops, keeping the best state so far).

Example (the shipped weights: docs/thickslice-model-card.md):
  imunity-thickslice-train --data ../shared/data/ixi_hh_2mm --out /scratch/thickslice --steps 2000)";
}  // namespace

int main(int argc, char** argv) {
  CLI::App app{kDescription, "imunity-thickslice-train"};
  tools::ThickSliceTrainOptions o;
  int threads = 0;
  app.add_option("--data", o.data_dir, "folder with t1/ and labels/")->required()->check(CLI::ExistingDirectory);
  app.add_option("--out", o.out_dir, "run folder (created)")->required();
  app.add_option("--test", o.test_subjects, "first subjects held out (test set)")->default_val(o.test_subjects)->check(CLI::NonNegativeNumber);
  app.add_option("--validation", o.validation_subjects, "next subjects for validation")->default_val(o.validation_subjects)->check(CLI::PositiveNumber);
  app.add_option("--steps", o.steps, "training steps")->default_val(o.steps)->check(CLI::PositiveNumber);
  app.add_option("--batch", o.batch, "patches per step")->default_val(o.batch)->check(CLI::Range(1, 1024));
  app.add_option("--patch", o.patch, "patch side (voxels)")->default_val(o.patch)->check(CLI::Range(16, 512));
  app.add_option("--lr", o.lr, "peak Adam learning rate")->default_val(o.lr)->check(CLI::Range(1e-6, 1.0));
  app.add_option("--channels", o.net.channels, "channels of the hidden layers")->default_val(o.net.channels)->check(CLI::Range(1, 512));
  app.add_option("--layers", o.net.layers, "convolutions in all")->default_val(o.net.layers)->check(CLI::Range(2, 32));
  app.add_option("--voxel-mm", o.net.voxel_mm, "the grid spacing of the training volumes (recorded; restoration is refused far from it)")
      ->default_val(o.net.voxel_mm)->check(CLI::Range(0.25, 8.0));
  app.add_option("--max-noise", o.max_noise, "largest noise sigma (fraction of the brain's 90th percentile)")
      ->default_val(o.max_noise)->check(CLI::Range(0.0, 0.5));
  app.add_option("--validate-every", o.validate_every, "steps between validations")->default_val(o.validate_every)->check(CLI::PositiveNumber);
  app.add_option("--seed", o.seed, "seed of the initialization and the sampling")->default_val(o.seed);
  app.add_option("--threads", threads, "CPU threads (default: all cores)")->check(CLI::NonNegativeNumber);
  app.add_flag("--quiet", o.quiet, "no progress bar");
  CLI11_PARSE(app, argc, argv);
  o.command = "imunity-thickslice-train";
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--out" || arg == "--data") ++i;
    else if (arg.rfind("--out=", 0) != 0 && arg.rfind("--data=", 0) != 0) o.command += " " + arg;
  }
  o.interrupted = &g_interrupted;
  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);
  try {
    if (threads > 0) set_num_threads(threads);
    return tools::train_thick_slice(o);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "imunity-thickslice-train: error: %s\n", e.what());
    return 2;
  }
}
