// imunity-bench-thickslice: what thick-slice detection and restoration cost, beside the rest of a
// harmonization of the same volume: a real 2 mm IXI volume made thick (6 mm slices along k),
// harmonized by the shipped model with --thick-slices off (the reference) and auto, the detection
// and the restoration alone, on the CPU and on the GPU when one is usable.
#include <CLI/CLI.hpp>

#include <unistd.h>

#include <cstdio>
#include <string>
#include <vector>

#include "benchmarks/machine.h"
#include "benchmarks/timing.h"
#include "engine/device.h"
#include "io/mask.h"
#include "io/nifti.h"
#include "tools/common/thickslice.h"
#include "tools/harmonize/harmonize.h"
#include "tools/thickslice/thickslice_train.h"

using namespace im;

namespace {
template <class F>
double best_of(int runs, F&& f) {
  double best = 1e30;
  for (int r = 0; r < runs; ++r) {
    const auto t = bench::Clock::now();
    f();
    best = std::min(best, bench::seconds_since(t));
  }
  return best;
}
}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"imunity-bench-thickslice: thick-slice detection and restoration against a whole harmonization", "imunity-bench-thickslice"};
  std::string data = "../shared/data", model = "model/weights/imunity-default-2mm.safetensors";
  int runs = 3, threads = 0;
  app.add_option("--data", data, "the shared data folder (ixi_hh_2mm inside)")->check(CLI::ExistingDirectory);
  app.add_option("--model", model, "the ImUnity checkpoint (run from the project root: the shipped one)")->check(CLI::ExistingFile);
  app.add_option("--runs", runs, "runs per figure (the best is kept)")->check(CLI::Range(1, 100));
  app.add_option("--threads", threads, "CPU threads (default: all cores)")->check(CLI::NonNegativeNumber);
  CLI11_PARSE(app, argc, argv);
  try {
    if (threads > 0) set_num_threads(threads);
    const std::string t1 = data + "/ixi_hh_2mm/t1/IXI013-HH-1212_T1.nii.gz";
    const io::Volume thin = io::read_volume(t1);
    const io::Mask brain = io::read_label_mask(thin, data + "/ixi_hh_2mm/labels/IXI013-HH-1212_T1_DLMUSE.nii.gz");
    io::Volume thick = thin;
    tools::degrade_volume_axis(thick, 2, 3);  // the simulator's thick slices, 3 voxels
    const tools::ModelSet models = tools::load_models(model, Device::CPU, false);
    const tools::TargetCode target = tools::target_from_site(models, "ixi_hh");
    const tools::ThickSliceModel& ts = tools::default_thick_slice_model();
    std::printf("imunity-bench-thickslice on %s, %d cores online, %d threads, load %.2f; best of %d runs\n",
                bench::cpu_model().c_str(), static_cast<int>(sysconf(_SC_NPROCESSORS_ONLN)), num_threads(), bench::load_average(), runs);
    std::printf("volume: IXI013 (120 x 120 x 90 at 2 mm) made thick along k (6 mm slices)\n\n");
    tools::HarmonizeOptions off, on;
    off.thick_slices.mode = tools::ThickSliceMode::off;
    const double t_off = best_of(runs, [&] { tools::harmonize_volume(models, target, thick, brain, off); });
    const double t_on = best_of(runs, [&] { tools::harmonize_volume(models, target, thick, brain, on); });
    const double t_thin = best_of(runs, [&] { tools::harmonize_volume(models, target, thin, brain, on); });
    const double t_thin_off = best_of(runs, [&] { tools::harmonize_volume(models, target, thin, brain, off); });
    const double t_detect = best_of(runs, [&] { tools::detect_thick_slices(thick, brain); });
    const double t_restore = best_of(runs, [&] {
      io::Volume v = thick;
      tools::restore_axis(v, brain, 2, *ts.net);
    });
    std::printf("| what (CPU) | seconds | x harmonization with --thick-slices off |\n|---|---|---|\n");
    std::printf("| harmonize_volume, thick input, --thick-slices off (the reference) | %.3f | 1.00 |\n", t_off);
    std::printf("| harmonize_volume, thick input, auto (detected, restored) | %.3f | %.2f |\n", t_on, t_on / t_off);
    std::printf("| harmonize_volume, thin input, auto (detected: none) | %.3f | %.2f |\n", t_thin, t_thin / t_off);
    std::printf("| harmonize_volume, thin input, off | %.3f | %.2f |\n", t_thin_off, t_thin_off / t_off);
    std::printf("| detection alone | %.4f | %.3f |\n", t_detect, t_detect / t_off);
    std::printf("| restoration alone (restore_axis) | %.3f | %.2f |\n", t_restore, t_restore / t_off);
    if (cuda_available()) {
      auto gpu = tools::load_thick_slice_model(ts.path, Device::CUDA);
      const double t_gpu = best_of(runs + 1, [&] {
        io::Volume v = thick;
        tools::restore_axis(v, brain, 2, *gpu->net);
      });
      std::printf("| restoration alone on %s | %.3f | %.2f (%.1fx the CPU's speed) |\n", device_description(Device::CUDA).c_str(), t_gpu,
                  t_gpu / t_off, t_restore / t_gpu);
    } else {
      std::printf("\nGPU: skipped (%s)\n", cuda_unavailable_reason().c_str());
    }
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "imunity-bench-thickslice: error: %s\n", e.what());
    return 2;
  }
}
