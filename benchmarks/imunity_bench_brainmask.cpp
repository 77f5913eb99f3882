// imunity-bench-brainmask: brain-mask speed: the network's forward at several widths next to the
// shipped configuration, and the whole mask of a 2 mm and a 1 mm volume (read, prepare, network,
// back to the input grid and post-processing) with the shipped weights.
#include <CLI/CLI.hpp>

#include <sys/resource.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>

#include "benchmarks/machine.h"
#include "benchmarks/timing.h"
#include "engine/autograd.h"
#include "engine/device.h"
#include "io/nifti.h"
#include "model/brainmask.h"
#include "tools/common/brain_mask.h"

using namespace im;

namespace {

using bench::Clock;
using bench::load_average;
using bench::seconds_since;
double cpu_seconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) + 1e-6 * static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec);
}
std::string widths_str(const std::vector<int>& w) {
  std::string s;
  for (int x : w) s += (s.empty() ? "" : ",") + std::to_string(x);
  return s;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"imunity-bench-brainmask: speed of the brain-mask network (forward per slice at several widths) and of\n"
               "whole masks of a 2 mm and a 1 mm volume. Best of --runs (the machine may be shared); process CPU\n"
               "time beside the wall time.",
               "imunity-bench-brainmask"};
  std::string data = std::getenv("IMUNITY_DATA") ? std::getenv("IMUNITY_DATA") : "../shared/data", model_path;
  int threads = 2, runs = 5;
  app.add_option("--data", data, "the shared data folder (default $IMUNITY_DATA or ../shared/data)");
  app.add_option("--model", model_path, "brain-mask weights (default: the shipped ones)");
  app.add_option("--threads", threads, "CPU threads")->default_val(2);
  app.add_option("--runs", runs, "runs per figure (the best is kept)")->default_val(5);
  CLI11_PARSE(app, argc, argv);
  set_num_threads(threads);
  std::printf("machine: %s, %ld cores online, %d threads; load average %.1f at start\n", bench::cpu_model().c_str(),
              sysconf(_SC_NPROCESSORS_ONLN), threads, load_average());
  try {
    const auto model = tools::load_brain_mask_model(model_path.empty() ? tools::default_brain_mask_model_path() : model_path);
    const model::BrainMaskConfig shipped = model->net->config();

    std::printf("\nForward, inference mode, batch 32 of 96x128 slices (the 2 mm IXI axial plane), ms per slice:\n\n");
    std::printf("| widths | parameters | wall ms/slice (best) | CPU ms/slice | ratio to shipped |\n|---|---:|---:|---:|---:|\n");
    std::vector<std::vector<int>> configs = {shipped.widths, {4, 8, 16, 32}, {8, 16, 32}, {16, 32, 64, 128}};
    double ref = 0;
    for (const auto& w : configs) {
      model::BrainMaskConfig c = shipped;
      c.widths = w;
      model::BrainMaskNet net(c, Device::CPU, 1);
      NoGrad ng;
      std::vector<float> x(static_cast<size_t>(32 * c.in_channels() * 96 * 128));
      for (size_t i = 0; i < x.size(); ++i) x[i] = static_cast<float>((i * 2654435761u) % 1000) / 1000.f;
      const Tensor in = Tensor::from_vector(x, {32, c.in_channels(), 96, 128});
      double best = 1e30, cpu = 0;
      for (int r = 0; r < runs; ++r) {
        const double c0 = cpu_seconds();
        const auto t = Clock::now();
        (void)net.forward(in, false, false);
        const double s = seconds_since(t);
        if (s < best) best = s, cpu = cpu_seconds() - c0;
      }
      if (ref == 0) ref = best;
      std::printf("| %s%s | %lld | %.2f | %.2f | %.2f |\n", widths_str(w).c_str(), ref == best && &w == &configs[0] ? " (shipped)" : "",
                  static_cast<long long>(net.params.numel()), 1000 * best / 32, 1000 * cpu / 32, best / ref);
    }

    struct Case {
      const char* name;
      std::string path;
    };
    const Case cases[] = {{"2 mm IXI (120x120x90)", data + "/ixi_hh_2mm/t1/IXI013-HH-1212_T1.nii.gz"},
                          {"1 mm Siemens MPRAGE (176x256x256)", data + "/unseen_scanners/siemens_trio_mprage.nii.gz"},
                          {"0.72x0.72x3 mm clinical (320x320x39)", data + "/clinical_t1/patient01_study1_T1W.nii.gz"}};
    std::printf("\nWhole mask, shipped weights, best of %d (s): read, then predict_brain_mask = prepare + network + finish\n\n", runs);
    std::printf("| volume | read | prepare | network | finish | mask total | read + mask | CPU s | slices run |\n");
    std::printf("|---|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    for (const Case& c : cases) {
      double best = 1e30, cpu = 0;
      tools::BrainMaskResult keep;
      double read_s = 0;
      for (int r = 0; r < runs; ++r) {
        const double c0 = cpu_seconds();
        const auto t = Clock::now();
        const io::Volume v = io::read_volume(c.path);
        const double rs = seconds_since(t);
        tools::BrainMaskResult res = tools::predict_brain_mask(*model->net, v);
        const double s = seconds_since(t);
        if (s < best) best = s, cpu = cpu_seconds() - c0, keep = std::move(res), read_s = rs;
      }
      std::printf("| %s | %.3f | %.3f | %.3f | %.3f | %.3f | %.3f | %.2f | %lld of %lld |\n", c.name, read_s, keep.seconds_prepare,
                  keep.seconds_network, keep.seconds_finish, keep.seconds_prepare + keep.seconds_network + keep.seconds_finish,
                  best, cpu, static_cast<long long>(keep.slices_run), static_cast<long long>(keep.slices_total));
    }
    std::printf("\nload average %.1f at the end\n", load_average());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "imunity-bench-brainmask: error: %s\n", e.what());
    return 1;
  }
  return 0;
}
