// imunity-train: trains an ImUnity model on a multi-site manifest of T1-weighted volumes.
#include <CLI/CLI.hpp>

#include <atomic>
#include <cmath>
#include <csignal>
#include <cstdlib>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "engine/autograd.h"
#include "engine/device.h"
#include "io/atomic_file.h"
#include "io/error.h"
#include "io/sampler.h"
#include "kernels/cuda_api.h"
#include "model/trainer.h"
#include "tools/common/checkpoint.h"
#include "tools/common/progress.h"
#include "tools/train/train_config.h"
#include "tools/train/train_run.h"

namespace fs = std::filesystem;
using namespace im;

namespace {
std::atomic<bool> g_interrupted{false};
void on_sigint(int) { g_interrupted = true; }

// A finite number above 0 (CLI::PositiveNumber lets "nan" and "inf" through).
const CLI::Validator positive_finite(
    [](std::string& text) {
      char* end = nullptr;
      const double v = std::strtod(text.c_str(), &end);
      if (end == text.c_str() || *end != '\0' || !std::isfinite(v) || v <= 0)
        return "must be a finite number above 0, got " + text;
      return std::string();
    },
    "POSITIVE");

// cpu, cuda, cuda:N or auto (the device parser gives the full message for anything else).
const CLI::Validator device_name_check(
    [](std::string& text) {
      if (text == "cpu" || text == "cuda" || text == "auto") return std::string();
      if (text.rfind("cuda:", 0) == 0 && text.size() > 5 && text.find_first_not_of("0123456789", 5) == std::string::npos)
        return std::string();
      return "must be cpu, cuda, cuda:N or auto, got " + text;
    },
    "DEVICE");
}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "imunity-train: train an ImUnity harmonization model (VAE-GAN with site unlearning) on T1-weighted\n"
      "volumes from several sites.\n\n"
      "The manifest is a tab-separated table with a header row: `path` (NIfTI volume), `site`, optionally\n"
      "`mask` (brain mask) or `labels` (label map, >0 = brain; any grid), and covariate columns for the\n"
      "optional biological heads (named in the config). Without mask/labels a head/foreground mask is\n"
      "computed (not skull stripping), or with --brain-mask net imunity's brain-extraction network makes a\n"
      "brain mask (docs/brain-extraction.md). Every volume is preprocessed as the checkpoint records (N4\n"
      "bias-field correction with --n4 or train.n4, canonical RAS, voxel size, WM-peak normalization, axial\n"
      "plane padded to the model's input size); imunity-harmonize then does the same.\n\n"
      "Outputs in RUN_DIR: config.json (the effective config), log.jsonl (every logged loss and\n"
      "validation), last.safetensors (resumable), best.safetensors and model.safetensors (for\n"
      "imunity-harmonize, with per-site contrast codes).\n\n"
      "Example:\n"
      "  imunity-train --manifest train.tsv --out runs/ixi --steps 3000 --batch 16\n"
      "  imunity-train --manifest train.tsv --out runs/ixi --preset authors-code --set train.lambda_ssim=0.5\n"
      "  imunity-train --manifest train.tsv --out runs/ixi --resume --steps 6000"};
  std::string manifest_path, out_dir, config_file, preset, device_name, brain_mask = "head";
  std::vector<std::string> overrides;
  int64_t steps = 0;
  int batch = 0, threads = 0;
  uint64_t seed = 0;
  bool resume = false, quiet = false, n4 = false;
  std::string init_from;
  double lr = 0;
  app.add_option("--manifest", manifest_path, "Training manifest (TSV: path, site, [mask|labels], covariates)")->required();
  app.add_option("--out", out_dir, "Run folder (created; an existing run needs --resume)")->required();
  app.add_option("--config", config_file, "JSON config: {\"model\": {...}, \"train\": {...}} (see docs/training.md)");
  app.add_option("--preset", preset, "Loss weights and schedule: paper (eq. 4: 1, 1, 1, 100, 1e-3) or authors-code")
      ->check(CLI::IsMember({"paper", "authors-code"}));
  // Each flag is checked as given (a bad value is an error naming the flag, never the default) and
  // passed on exactly (--lr as JSON's shortest round-trip form: 2.5e-6 stays 2.5e-6).
  auto* steps_opt = app.add_option("--steps", steps, "Training steps (each: discriminator, site-head and generator updates)")
                        ->check(CLI::NonNegativeNumber);
  auto* batch_opt = app.add_option("--batch", batch, "Slice pairs per step, at least 2 (default 16)")->check(CLI::Range(2, 1 << 20));
  auto* lr_opt = app.add_option("--lr", lr, "Adam learning rate, > 0 (paper 1e-4)")->check(positive_finite);
  auto* device_opt = app.add_option("--device", device_name,
                                    "cpu, cuda, cuda:N (the N-th GPU) or auto (default: cuda when a GPU is usable)")
                         ->check(device_name_check);
  auto* threads_opt = app.add_option("--threads", threads, "CPU threads (0, the default: all cores)")->check(CLI::NonNegativeNumber);
  auto* seed_opt = app.add_option("--seed", seed, "Seed of everything random (initialization, sampling, noise)")
                       ->check(CLI::NonNegativeNumber);
  app.add_flag("--n4", n4, "N4 bias-field correction of every volume inside its mask before normalization (= train.n4=true)");
  app.add_option("--set", overrides, "Override any config field: model.<field>=V or train.<field>=V (repeatable)");
  app.add_option("--brain-mask", brain_mask, "rows without mask/labels: head (automatic head mask) or net (brain-extraction network)")
      ->default_val("head")->check(CLI::IsMember({"head", "net"}));
  auto* resume_flag = app.add_flag("--resume", resume, "Continue RUN_DIR/last.safetensors with its own configuration (bit for bit on the CPU with the same seed); "
               "--set train.<field>=V, --steps, --lr, ... change training fields from there on (the model cannot change; "
               "a config file is not read)");
  app.add_option("--init-from", init_from,
                 "Start a fresh run from this checkpoint's weights where names and shapes match (the rest, e.g. a "
                 "changed site head, initialized as usual; Adam, step and schedule start afresh): fine-tuning")
      ->check(CLI::ExistingFile)->excludes(resume_flag);
  app.add_flag("--quiet", quiet, "No progress bar");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);  // prints the help, or the error naming the flag
    return code == 0 ? 0 : 2;      // 2, as for every other error found before training
  }

  try {
    if (steps_opt->count()) overrides.push_back("train.steps=" + std::to_string(steps));
    if (batch_opt->count()) overrides.push_back("train.batch=" + std::to_string(batch));
    if (lr_opt->count()) overrides.push_back("train.lr=" + nlohmann::json(lr).dump());
    if (threads_opt->count()) overrides.push_back("train.threads=" + std::to_string(threads));
    if (device_opt->count()) overrides.push_back("train.device=\"" + device_name + "\"");
    if (seed_opt->count()) overrides.push_back("train.seed=" + std::to_string(seed));
    if (n4) overrides.push_back("train.n4=true");

    tools::TrainRunOptions ro;
    ro.manifest = manifest_path;
    ro.out_dir = out_dir;
    ro.resume = resume;
    ro.init_from = init_from;
    ro.overrides = overrides;
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
