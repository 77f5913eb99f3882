// imunity-repro: the reproducibility run against the paper's Table 2 on held-out IXI subjects
// through seen and unseen virtual sites (docs/reproducibility.md).
#include <CLI/CLI.hpp>

#include <chrono>
#include <cstdio>
#include <exception>
#include <string>

#include "engine/device.h"
#include "tools/repro/repro.h"

namespace {

const char* kDescription = R"(imunity-repro: the reproducibility run (the paper's Table 2 on virtual travelling subjects).

The first --subjects IXI-HH subjects (sorted by file name; never seen by the shipped model's
training) are the travelling subjects. Each real image is the ground truth on the reference site
(--reference, ixi_hh); the same anatomy goes through every --seen and --unseen virtual site
(docs/sites/<name>.json, io::simulate_site, --seed). Every source image is brought back to the
reference by: nothing (rescaled to [0,1]), WM-peak normalization, White-Stripe normalization,
histogram matching to a reference image (another reference-site subject, --reference-subject),
N4 bias-field correction then the same histogram matching (needs a build with ITK), the ImUnity
decoder output (the paper's image), ImUnity towards the checkpoint's code of the reference site, and ImUnity towards the reference
image (ImUnity's inputs N4-corrected as imunity-harmonize's default; --n4/--no-n4 to choose). Each is scored by SSIM against the truth in the brain mask (IXI labels): 2-D axial, 11x11
Gaussian sigma 1.5, K1 0.01, K2 0.03, L = 1, mean over brain voxels per slice (slices with >= 1%
brain), mean over slices; intensities on [0,1] with the WM peak at 0.7. Site classification
(radiomic features + RBF SVM, cross-validation grouped by subject) before and after.
Writes OUT/table.md (also printed), OUT/results.json and OUT/mosaic.png (the first subject).)";

const char* kExamples = R"(
Examples:
  imunity-repro --model model/weights/imunity-default-2mm.safetensors --data ../shared/data --out repro/
  imunity-repro --model run/best.safetensors --data ../shared/data --out repro-small/ --subjects 5 \
      --seen low_contrast --unseen mild,noisy --threads 2
)";

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{kDescription, "imunity-repro"};
  app.footer(kExamples);
  im::tools::ReproOptions o;
  int threads = 0;
  bool no_classification = false;
  app.add_option("--model", o.model, "checkpoint (.safetensors) with the reference site's code")->required()->check(CLI::ExistingFile);
  app.add_option("--data", o.data, "shared data folder (holding ixi_hh_2mm/t1 and ixi_hh_2mm/labels)")->required()->check(CLI::ExistingDirectory);
  app.add_option("--out", o.out, "output folder (table.md, results.json, mosaic.png)")->required();
  app.add_option("--subjects", o.subjects, "the first N IXI subjects (sorted) are the travelling subjects")
      ->check(CLI::Range(2, 1000))->capture_default_str();
  app.add_option("--seen", o.seen, "virtual sites the model was trained on (names in docs/sites or JSON paths)")
      ->delimiter(',')->capture_default_str();
  app.add_option("--unseen", o.unseen, "virtual sites never seen in training")->delimiter(',')->capture_default_str();
  app.add_option("--reference", o.reference, "the reference site: the real IXI images, and the model's target site")->capture_default_str();
  app.add_option("--reference-subject", o.reference_subject,
                 "0-based index (sorted) of the reference-site image used as target image and histogram reference "
                 "(default: --subjects, the first one after the test subjects)");
  app.add_option("--sites-dir", o.sites_dir, "folder of site files <name>.json (default: docs/sites)");
  app.add_option("--training-manifest", o.training_manifest,
                 "the model's training manifest (e.g. build/default-model/train.tsv): refuse if a test subject is in it")
      ->check(CLI::ExistingFile);
  app.add_option("--seed", o.seed, "seed of io::simulate_site")->capture_default_str();
  app.add_option("--model-mask", o.model_mask, "mask given to ImUnity: brain (the IXI labels, as the baselines get) or auto (the automatic head mask)")
      ->check(CLI::IsMember({"auto", "brain"}))->capture_default_str();
  app.add_option("--map-flat-fraction", o.harmonize.map.flat_fraction,
                 "ImUnity's detail stage: fraction of brain voxels (the flattest) its contrast map is fitted on")
      ->check(CLI::Range(0.05, 1.0))->capture_default_str();
  bool no_denoise = false, n4 = false, no_n4 = false;
  auto* n4_flag = app.add_flag("--n4", n4, "ImUnity's inputs N4-corrected (as imunity-harmonize --n4); the baselines are unchanged");
  app.add_flag("--no-n4", no_n4, "ImUnity's inputs not bias-corrected (default: imunity-harmonize's default)")->excludes(n4_flag);
  app.add_flag("--no-denoise", no_denoise, "ImUnity's detail stage: no noise harmonization");
  app.add_option("--noise-ratio", o.harmonize.noise_ratio,
                 "ImUnity's detail stage: denoise when the input's noise exceeds the target's by this factor (as imunity-harmonize)")
      ->check(CLI::Range(1.0, 100.0))->capture_default_str();
  app.add_option("--network-weight", o.harmonize.network_weight,
                 "ImUnity's detail stage: weight of the network's map against histogram matching to the target's quantiles")
      ->check(CLI::Range(0.0, 1.0))->capture_default_str();
  app.add_option("--map-slice-step", o.harmonize.map_slice_step,
                 "ImUnity's detail stage: the network renders every k-th axial slice to fit its map (as imunity-harmonize)")
      ->check(CLI::Range(1, 8))->capture_default_str();
  app.add_option("--map-bins", o.harmonize.map.bins, "ImUnity's detail stage: bins of its contrast map")
      ->check(CLI::Range(2, 1024))->capture_default_str();
  app.add_option("--device", o.device, "cpu, cuda or auto")->check(CLI::IsMember({"cpu", "cuda", "auto"}))->capture_default_str();
  app.add_option("--threads", threads, "CPU threads (default: all cores)")->check(CLI::NonNegativeNumber);
  app.add_option("--folds", o.cv.folds, "cross-validation folds of the site classifier")->check(CLI::Range(2, 100))->capture_default_str();
  app.add_option("--repeats", o.cv.repeats, "cross-validation repeats")->check(CLI::Range(1, 1000))->capture_default_str();
  app.add_flag("--no-classification", no_classification, "skip the site classification");
  app.add_flag("-q,--quiet", o.quiet, "no progress on stderr");
  CLI11_PARSE(app, argc, argv);
  o.harmonize.denoise = !no_denoise;
  o.n4 = n4 ? 1 : no_n4 ? 0 : -1;
  o.classification = !no_classification;
  if (threads > 0) im::set_num_threads(threads);
  for (int i = 0; i < argc; ++i) o.command += (i ? " " : "") + std::string(argv[i]);

  try {
    const auto t0 = std::chrono::steady_clock::now();
    auto progress = [&](const std::string& m) {
      if (!o.quiet)
        std::fprintf(stderr, "imunity-repro: %s (%.0f s)\n", m.c_str(),
                     std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    };
    const im::tools::ReproResults r = im::tools::run_repro(o, progress);
    im::tools::write_repro_outputs(r);
    for (const std::string& w : r.warnings) std::fprintf(stderr, "imunity-repro: warning: %s\n", w.c_str());
    std::fputs(im::tools::repro_markdown(r).c_str(), stdout);
    std::printf("\nwritten: %s/table.md, %s/results.json, %s/mosaic.png\n", o.out.c_str(), o.out.c_str(), o.out.c_str());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "imunity-repro: error: %s\n", e.what());
    return 1;
  }
  return 0;
}
