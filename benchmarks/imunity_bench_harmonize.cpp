// imunity-bench-harmonize: end-to-end harmonization time (read, mask, prepare, network, unprepare,
// encode, write) of one 2 mm volume, one 1 mm volume and a batch of 2 mm volumes, on the CPU and
// on the GPU when one is usable; optionally the PyTorch network-only reference in the same run.
#include <CLI/CLI.hpp>

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "benchmarks/machine.h"
#include "benchmarks/timing.h"
#include "engine/device.h"
#include "io/nifti.h"
#include "model/inference.h"

#include "tools/common/checkpoint.h"
#include "tools/harmonize/harmonize.h"
#include "tools/harmonize/harmonize_batch.h"

namespace fs = std::filesystem;
using namespace im;

namespace {

using bench::Clock;
using bench::load_average;
using bench::seconds_since;

std::string machine() { return bench::cpu_model() + ", " + std::to_string(sysconf(_SC_NPROCESSORS_ONLN)) + " cores online"; }


// A checkpoint with random weights and two site codes (enough to time the pipeline).
std::string make_model(const std::string& dir, int h, int w, double voxel_size) {
  model::ModelConfig mc;
  mc.image_h = h, mc.image_w = w;
  mc.site_names = {"a", "b"};
  model::ImUnity m(mc, Device::CPU, 1);
  tools::CheckpointInfo info;
  info.model = mc;
  info.train.voxel_size = voxel_size;
  std::vector<float> x(static_cast<size_t>(2 * h * w));
  for (size_t i = 0; i < x.size(); ++i) x[i] = static_cast<float>((i * 2654435761u) % 1000) / 1000.f;
  const Tensor code = model::mean_contrast_code(m, Tensor::from_vector(x, {2, 1, h, w}));
  info.code_shape = {1, code.size(1), code.size(2), code.size(3)};
  info.site_codes = {{"a", code.to_vector()}, {"b", code.to_vector()}};
  const std::string path = dir + "/model_" + std::to_string(h) + "x" + std::to_string(w) + ".safetensors";
  tools::save_checkpoint(path, m, info, false);
  return path;
}

struct Timing {
  double best_s = 1e30;
  double first_s = 0;     // the first run: fresh buffers (page faults), as in a process per volume
  nlohmann::json stages;  // of the best run, from its sidecar (ms)
  nlohmann::json slices;
  double load_s = 0;      // model + target code, once per process
};

// `runs` times: harmonize `inputs` (one run_batch), best wall time.
Timing time_case(const std::string& model_path, const std::vector<std::string>& inputs, const std::string& out, Device dev,
                 int runs, int64_t batch_size, int io_threads) {
  Timing t;
  const auto t0 = Clock::now();
  const tools::ModelSet models = tools::load_models(model_path, dev, false);
  const tools::TargetCode target = tools::target_from_site(models, "a");
  t.load_s = seconds_since(t0);
  auto jobs = tools::make_jobs(inputs, out);
  tools::BatchOptions o;
  o.overwrite = true;
  o.quiet = true;
  o.harmonize.batch_size = batch_size;
  o.io_threads = io_threads > 0 ? io_threads : dev == Device::CUDA ? 4 : 1;  // as imunity-harmonize
  for (int r = 0; r < runs; ++r) {
    const auto start = Clock::now();
    const auto results = tools::run_batch(models, target, jobs, o);
    const double s = seconds_since(start);
    if (r == 0) t.first_s = s;
    for (const auto& res : results)
      if (res.status != tools::JobResult::Status::done) throw std::runtime_error("benchmark run failed: " + res.message);
    if (s < t.best_s) {
      t.best_s = s;
      std::ifstream f(jobs.front().sidecar);
      const nlohmann::json side = nlohmann::json::parse(f);
      t.stages = side["timings_ms"];
      t.slices = side["network"];
    }
  }
  return t;
}

// imunity-harmonize beside this benchmark in the build tree ("" when not built).
std::string harmonize_binary() {
  std::error_code ec;
  const fs::path self = fs::read_symlink("/proc/self/exe", ec);
  const fs::path p = self.parent_path().parent_path() / "tools" / "imunity-harmonize";
  return !ec && fs::exists(p) ? p.string() : std::string();
}

// The whole program on one volume, one process: start, model load and hash, target code, the
// volume, exit. Best of `runs`.
double time_cli(const std::string& binary, const std::string& model_path, const std::string& input, const std::string& out,
                Device dev, int threads, int runs) {
  const std::string cmd = binary + " --model " + model_path + " --in " + input + " --out-dir " + out +
                          " --target-site a --overwrite --quiet --threads " + std::to_string(threads) + " --device " +
                          (dev == Device::CUDA ? "cuda" : "cpu") + " >/dev/null 2>&1";
  double best = 1e30;
  for (int r = 0; r < runs; ++r) {
    const auto start = Clock::now();
    if (std::system(cmd.c_str()) != 0) throw std::runtime_error("failed: " + cmd);
    best = std::min(best, seconds_since(start));
  }
  return best;
}

std::string ms(const nlohmann::json& stages, const char* key) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.0f", stages.value(key, 0.0));
  return buf;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"imunity-bench-harmonize: end-to-end harmonization speed (I/O included) of a 2 mm and a 1 mm volume and\n"
               "of a batch of 2 mm volumes, on the CPU and on the GPU when usable. Random weights (speed does not depend\n"
               "on them). Best of --runs per figure: the machine may be shared.",
               "imunity-bench-harmonize"};
  std::string data = std::getenv("IMUNITY_DATA") ? std::getenv("IMUNITY_DATA") : "../shared/data";
  std::string devices = "all", json_out, pytorch_script;
  int threads = 2, runs = 5, batch_volumes = 20, io_threads = 0;
  int64_t batch_size = 0;
  bool skip_1mm = false;
  app.add_option("--data", data, "the shared data folder (default $IMUNITY_DATA or ../shared/data)");
  app.add_option("--threads", threads, "CPU threads")->default_val(2);
  app.add_option("--runs", runs, "runs per single-volume figure (the best is kept)")->default_val(5);
  app.add_option("--batch-volumes", batch_volumes, "volumes in the batch figure")->default_val(20);
  app.add_option("--batch-size", batch_size, "slices per network call (0: the tool's automatic choice)")->default_val(0);
  app.add_option("--io-threads", io_threads, "reader and writer threads each (0: as imunity-harmonize)")->default_val(0);
  app.add_option("--device", devices, "cpu, cuda or all (cuda only when usable)")->default_val("all");
  app.add_option("--pytorch", pytorch_script, "benchmarks/pytorch_harmonize_reference.py: also time PyTorch (network only)");
  app.add_option("--json", json_out, "also write the figures as JSON");
  app.add_flag("--skip-1mm", skip_1mm, "leave out the 1 mm volume");
  CLI11_PARSE(app, argc, argv);

  set_num_threads(threads);
  const fs::path scratch = fs::temp_directory_path() / ("imunity-bench-harmonize-" + std::to_string(getpid()));
  fs::create_directories(scratch);
  nlohmann::json report = {{"machine", machine()}, {"threads", threads}, {"load_average_start", load_average()}};
  std::printf("machine: %s; load average %.1f at start (shared machine: best of %d runs)\n", machine().c_str(), load_average(), runs);
  try {
    std::vector<std::string> ixi;
    for (const auto& e : fs::directory_iterator(data + "/ixi_hh_2mm/t1")) ixi.push_back(e.path().string());
    std::sort(ixi.begin(), ixi.end());
    if (ixi.empty()) throw std::runtime_error("no IXI volume in " + data + "/ixi_hh_2mm/t1 (--data or $IMUNITY_DATA)");
    if (ixi.size() < static_cast<size_t>(batch_volumes)) {
      std::printf("only %zu IXI volumes in %s: the batch figure uses them all\n", ixi.size(), data.c_str());
      batch_volumes = static_cast<int>(ixi.size());
    }
    const std::string mni = data + "/templates/mni.nii.gz";
    if (!skip_1mm && !fs::exists(mni)) {
      std::printf("no %s: the 1 mm figure is left out\n", mni.c_str());
      skip_1mm = true;
    }
    const std::string m2 = make_model(scratch.string(), 128, 128, 2.0), m1 = make_model(scratch.string(), 224, 192, 1.0);

    std::vector<Device> devs;
    if (devices == "cpu" || devices == "all") devs.push_back(Device::CPU);
    if ((devices == "cuda" || devices == "all") && cuda_available()) devs.push_back(Device::CUDA);
    if (devices == "cuda" && !cuda_available()) std::printf("no usable GPU: %s\n", cuda_unavailable_reason().c_str());

    std::printf("\nPer volume, read to written (ms per stage from the best run's sidecar; first: the first run, cold buffers):\n");
    std::printf("\n| case | device | end to end (best) | first | read | mask | prepare | network | unprepare | encode+write | slices run |\n");
    std::printf("|---|---|---|---|---|---|---|---|---|---|---|\n");
    for (Device dev : devs) {
      const std::string dname = device_description(dev);
      struct Case {
        std::string name, model;
        std::vector<std::string> inputs;
        int runs;
      };
      std::vector<Case> cases = {{"2 mm IXI volume (120x120x90), 128x128 model", m2, {ixi.front()}, runs}};
      if (!skip_1mm) cases.push_back({"1 mm MNI volume (182x218x182), 192x224 model", m1, {mni}, std::max(1, runs / 2)});
      for (const Case& c : cases) {
        const Timing t = time_case(c.model, c.inputs, (scratch / "out").string(), dev, c.runs, batch_size, io_threads);
        const double ew = t.stages.value("encode", 0.0) + t.stages.value("write", 0.0);
        const auto& ax = t.slices["axial"];
        std::printf("| %s | %s | %.3f s | %.3f s | %s | %s | %s | %s | %s | %.0f | %lld of %lld |\n", c.name.c_str(), dname.c_str(),
                    t.best_s, t.first_s, ms(t.stages, "read").c_str(), ms(t.stages, "mask").c_str(), ms(t.stages, "prepare").c_str(),
                    ms(t.stages, "network").c_str(), ms(t.stages, "unprepare").c_str(), ew,
                    static_cast<long long>(ax.value("harmonized", 0)), static_cast<long long>(ax.value("slices", 0)));
        std::fflush(stdout);
        double cli_s = 0;
        if (const std::string bin = harmonize_binary(); !bin.empty()) {
          cli_s = time_cli(bin, c.model, c.inputs.front(), (scratch / "cli").string(), dev, threads, c.runs);
          std::printf("| %s, whole program (process start, model load + SHA-256, site code, the volume) | %s | %.3f s | | | | | | | | |\n",
                      c.name.c_str(), dname.c_str(), cli_s);
          std::fflush(stdout);
        }
        report["cases"].push_back({{"case", c.name}, {"device", dname}, {"seconds", t.best_s}, {"first_run_seconds", t.first_s},
                                   {"stages_ms", t.stages}, {"slices", t.slices}, {"model_load_and_code_s", t.load_s},
                                   {"whole_program_s", cli_s}});
      }
      const std::vector<std::string> batch(ixi.begin(), ixi.begin() + batch_volumes);
      const Timing t = time_case(m2, batch, (scratch / "batch").string(), dev, std::max(1, runs / 3), batch_size, io_threads);
      const double per_min = 60.0 * batch_volumes / t.best_s;
      std::printf("| batch of %d 2 mm IXI volumes | %s | %.2f s (%.1f volumes/min) | | | | | | | | |\n", batch_volumes, dname.c_str(),
                  t.best_s, per_min);
      report["cases"].push_back({{"case", "batch of " + std::to_string(batch_volumes) + " 2 mm volumes"}, {"device", dname},
                                 {"seconds", t.best_s}, {"volumes_per_minute", per_min}});
    }
    if (!pytorch_script.empty()) {
      const std::string cmd = "/usr/bin/python3 " + pytorch_script + " --threads " + std::to_string(threads) + " --runs " +
                              std::to_string(std::max(2, runs / 2)) + " --case 128x128:90 " + (skip_1mm ? "" : "224x192:182") + " 2>&1";
      std::printf("\nPyTorch reference, network only (anatomy encoder + decoder), CPU %d threads, all slices in one call:\n", threads);
      FILE* p = popen(cmd.c_str(), "r");
      char line[4096];
      while (p && std::fgets(line, sizeof line, p)) {
        std::printf("  %s", line);
        try {
          report["pytorch"].push_back(nlohmann::json::parse(line));
        } catch (const std::exception&) {
        }
      }
      if (p) pclose(p);
    }
    report["load_average_end"] = load_average();
    std::printf("load average %.1f at end\n", load_average());
    if (!json_out.empty()) std::ofstream(json_out) << report.dump(2) << "\n";
  } catch (const std::exception& e) {
    std::fprintf(stderr, "imunity-bench-harmonize: error: %s\n", e.what());
    fs::remove_all(scratch);
    return 1;
  }
  fs::remove_all(scratch);
  return 0;
}
