// imunity-brainmask-train: trains the brain-mask network on T1 volumes with label maps.
#include <CLI/CLI.hpp>

#include <atomic>
#include <csignal>
#include <cstdio>

#include "engine/device.h"
#include "io/error.h"
#include "tools/brainmask/brainmask_train.h"

using namespace im;

namespace {
std::atomic<bool> g_interrupted{false};
void on_signal(int) { g_interrupted = true; }

const char* kDescription = R"(imunity-brainmask-train: train the brain-extraction network (a small 2.5-D U-Net) on T1-weighted
volumes with label maps.

Data: DATA/t1/<name>.nii[.gz] and DATA/labels/<name>_*.nii[.gz] (label > 0 is brain, any grid:
brought to the T1 grid through both affines), e.g. ../shared/data/ixi_hh_2mm. Sorted by file name,
the first --test subjects are held out (never read here: they are the evaluation's test set), the
next --validation subjects choose the best step, the rest train.

Each training volume goes to the network's grid exactly as at inference (canonical RAS, isotropic
voxels, axial plane padded), then augmented copies are made on the fly: a random virtual site (the
simulator's contrast curves, bias fields, Rician noise, blur and thick slices), rotation, scaling,
left-right flip, shift, and sometimes brain-only input; slices (with their neighbours as channels)
are drawn from a pool of such copies. Loss: binary cross-entropy; Adam with a warm-up and cosine
decay. Every --validate-every steps: Dice on the validation subjects through the whole inference
pipeline, as acquired and through a virtual site.

Outputs in OUT: last.safetensors (resumable, with the optimizer), best.safetensors (the weights to
ship: best mean validation Dice), log.jsonl. SIGINT/SIGTERM save last.safetensors and stop;
--resume continues (the step, schedule and optimizer; augmentation draws continue on a new stream).

Example (the schedule of the shipped weights, step 1000 of it: docs/brainmask-model-card.md):
  imunity-brainmask-train --data ../shared/data/ixi_hh_2mm --out /scratch/brainmask --steps 6000 --validate-every 500)";
}  // namespace

int main(int argc, char** argv) {
  CLI::App app{kDescription, "imunity-brainmask-train"};
  tools::BrainMaskTrainOptions o;
  int threads = 0;
  app.add_option("--data", o.data_dir, "folder with t1/ and labels/")->required()->check(CLI::ExistingDirectory);
  app.add_option("--out", o.out_dir, "run folder (created)")->required();
  app.add_option("--test", o.test_subjects, "first subjects held out (test set)")->default_val(20)->check(CLI::NonNegativeNumber);
  app.add_option("--validation", o.validation_subjects, "next subjects for validation")->default_val(8)->check(CLI::PositiveNumber);
  app.add_option("--steps", o.steps, "training steps")->default_val(o.steps)->check(CLI::PositiveNumber);
  app.add_option("--batch", o.batch, "slices per step")->default_val(o.batch)->check(CLI::Range(2, 1024));
  app.add_option("--lr", o.lr, "peak Adam learning rate")->default_val(o.lr)->check(CLI::Range(1e-6, 1.0));
  app.add_option("--widths", o.net.widths, "channels per U-Net level")->default_val(o.net.widths)->delimiter(',');
  app.add_option("--context", o.net.context, "neighbouring slices on each side")->default_val(o.net.context)->check(CLI::Range(0, 4));
  app.add_option("--voxel-mm", o.net.voxel_mm, "the network's isotropic grid (mm)")->default_val(o.net.voxel_mm)->check(CLI::Range(0.5, 8.0));
  app.add_option("--validate-every", o.validate_every, "steps between validations")->default_val(o.validate_every)->check(CLI::PositiveNumber);
  app.add_option("--seed", o.seed, "seed of the initialization and the augmentation")->default_val(o.seed);
  app.add_option("--threads", threads, "CPU threads (default: all cores)")->check(CLI::NonNegativeNumber);
  app.add_flag("--resume", o.resume, "continue OUT/last.safetensors");
  app.add_flag("--quiet", o.quiet, "no progress bar");
  CLI11_PARSE(app, argc, argv);
  // The command as recorded in the weight files: the program's name and its options, without the
  // run folder (a path of the machine it ran on).
  o.command = "imunity-brainmask-train";
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--out") ++i;
    else if (arg.rfind("--out=", 0) != 0) o.command += " " + arg;
  }
  o.interrupted = &g_interrupted;
  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);
  try {
    if (threads > 0) set_num_threads(threads);
    return tools::train_brain_mask(o);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "imunity-brainmask-train: error: %s\n", e.what());
    return 2;
  }
}
