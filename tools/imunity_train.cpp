// imunity-train: trains an ImUnity model on a multi-site manifest of T1-weighted volumes.
#include <CLI/CLI.hpp>

#include <atomic>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "engine/autograd.h"
#include "engine/cuda_api.h"
#include "engine/device.h"
#include "io/atomic_file.h"
#include "io/error.h"
#include "io/sampler.h"
#include "model/trainer.h"
#include "tools/common/checkpoint.h"
#include "tools/common/progress.h"
#include "tools/common/train_config.h"
#include "tools/common/train_run.h"

namespace fs = std::filesystem;
using namespace im;

namespace {
std::atomic<bool> g_interrupted{false};
void on_sigint(int) { g_interrupted = true; }
}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "imunity-train: train an ImUnity harmonization model (VAE-GAN with site unlearning) on T1-weighted\n"
      "volumes from several sites.\n\n"
      "The manifest is a tab-separated table with a header row: `path` (NIfTI volume), `site`, optionally\n"
      "`mask` (brain mask) or `labels` (label map, >0 = brain; any grid), and covariate columns for the\n"
      "optional biological heads (named in the config). Without mask/labels a head/foreground mask is\n"
      "computed (not skull stripping), or with --brain-mask net imunity's brain-extraction network makes a\n"
      "brain mask (docs/brain-extraction.md). Every volume is preprocessed as the checkpoint records (canonical\n"
      "RAS, voxel size, WM-peak normalization, axial plane padded to the model's input size).\n\n"
      "Outputs in RUN_DIR: config.json (the effective config), log.jsonl (every logged loss and\n"
      "validation), last.safetensors (resumable), best.safetensors and model.safetensors (for\n"
      "imunity-harmonize, with per-site contrast codes).\n\n"
      "Example:\n"
      "  imunity-train --manifest train.tsv --out runs/ixi --steps 3000 --batch 16\n"
      "  imunity-train --manifest train.tsv --out runs/ixi --preset authors-code --set train.lambda_ssim=0.5\n"
      "  imunity-train --manifest train.tsv --out runs/ixi --resume --steps 6000"};
  std::string manifest_path, out_dir, config_file, preset, device_name, brain_mask = "head";
  std::vector<std::string> overrides;
  int64_t steps = -1;
  int batch = 0, threads = 0;
  uint64_t seed = 0;
  bool seed_given = false, resume = false, quiet = false;
  float lr = 0.f;
  app.add_option("--manifest", manifest_path, "Training manifest (TSV: path, site, [mask|labels], covariates)")->required();
  app.add_option("--out", out_dir, "Run folder (created; an existing run needs --resume)")->required();
  app.add_option("--config", config_file, "JSON config: {\"model\": {...}, \"train\": {...}} (see docs/training.md)");
  app.add_option("--preset", preset, "Loss weights and schedule: paper (eq. 4: 1, 1, 1, 100, 1e-3) or authors-code");
  app.add_option("--steps", steps, "Training steps (each: discriminator, site-head and generator updates)");
  app.add_option("--batch", batch, "Slice pairs per step (default 16)");
  app.add_option("--lr", lr, "Adam learning rate (paper 1e-4)");
  app.add_option("--device", device_name, "cpu, cuda or auto (default: cuda when a GPU is usable)");
  app.add_option("--threads", threads, "CPU threads (default: all cores)");
  auto* seed_opt = app.add_option("--seed", seed, "Seed of everything random (initialization, sampling, noise)");
  app.add_option("--set", overrides, "Override any config field: model.<field>=V or train.<field>=V (repeatable)");
  app.add_option("--brain-mask", brain_mask, "rows without mask/labels: head (automatic head mask) or net (brain-extraction network)")
      ->default_val("head")->check(CLI::IsMember({"head", "net"}));
  app.add_flag("--resume", resume, "Continue RUN_DIR/last.safetensors (bit for bit on the CPU with the same seed)");
  app.add_flag("--quiet", quiet, "No progress bar");
  CLI11_PARSE(app, argc, argv);
  seed_given = seed_opt->count() > 0;

  try {
    if (steps >= 0) overrides.push_back("train.steps=" + std::to_string(steps));
    if (batch > 0) overrides.push_back("train.batch=" + std::to_string(batch));
    if (lr > 0.f) overrides.push_back("train.lr=" + std::to_string(lr));
    if (threads > 0) overrides.push_back("train.threads=" + std::to_string(threads));
    if (!device_name.empty()) overrides.push_back("train.device=\"" + device_name + "\"");
    if (seed_given) overrides.push_back("train.seed=" + std::to_string(seed));

    tools::TrainRunOptions ro;
    ro.manifest = manifest_path;
    ro.out_dir = out_dir;
    ro.resume = resume;
    ro.brain_mask = brain_mask;
    ro.quiet = quiet;
    ro.interrupted = &g_interrupted;
    ro.setup = tools::assemble_setup(config_file, preset, overrides);
    std::signal(SIGINT, on_sigint);
    std::signal(SIGTERM, on_sigint);
    return tools::run_training(ro);
  } catch (const io::Error& e) {
    std::fprintf(stderr, "imunity-train: error: %s\n", e.what());
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "imunity-train: error: %s\n", e.what());
    return 2;
  }
}
