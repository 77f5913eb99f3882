// imunity-bench-train: times the full ImUnity training step (discriminator, site-head and generator
// updates) and inference on synthetic slices; --dump-forward writes weights, inputs and outputs for
// benchmarks/pytorch_reference.py's agreement check.
#include <CLI/CLI.hpp>

#include <cstdio>
#include <fstream>
#include <sstream>

#include "benchmarks/machine.h"
#include "benchmarks/timing.h"
#include "engine/allocator.h"
#include "engine/autograd.h"
#include "engine/device.h"
#include "engine/rng.h"
#include "io/safetensors.h"
#include "kernels/cuda_api.h"
#include "model/inference.h"
#include "model/state.h"
#include "model/trainer.h"

using namespace im;

namespace {
using bench::now_s;


model::TrainBatch synthetic_batch(int b, int h, int w, int sites, Device dev) {
  Generator g(123);
  model::TrainBatch t;
  t.s1 = rand_uniform({b, 1, h, w}, g, dev);
  t.s2 = rand_uniform({b, 1, h, w}, g, dev);
  std::vector<float> s(static_cast<size_t>(b));
  for (int i = 0; i < b; ++i) s[i] = static_cast<float>(i % sites);
  t.site = Tensor::from_vector(s, {b}, dev);
  return t;
}

void sync(Device dev) {
  if (dev == Device::CUDA) cuda::synchronize();
}

int dump_forward(const std::string& path, int h, int w) {
  model::ModelConfig mc;
  mc.image_h = h, mc.image_w = w, mc.n_sites = 4;
  model::ImUnity m(mc, Device::CPU, 7);
  Generator g(5);
  Tensor x = rand_uniform({2, 1, h, w}, g, Device::CPU), c = rand_uniform({2, 1, h, w}, g, Device::CPU);
  NoGrad ng;
  model::Code a = m.encode_anatomy(x, nullptr), k = m.encode_contrast(c, nullptr);
  Tensor out = m.decode(a.mu, k.mu, x);
  io::SafeTensors st;
  auto add = [&](const std::string& name, const Tensor& t) {
    io::NamedArray n{name, {}, t.to_vector()};
    for (int i = 0; i < t.ndim(); ++i) n.shape.push_back(t.size(i));
    st.tensors.push_back(n);
  };
  for (const model::NamedTensor& nt : model::state_tensors(m, false)) add(nt.name, nt.tensor);
  add("input.anatomy", x);
  add("input.contrast", c);
  add("output.anatomy_mu", a.mu);
  add("output.contrast_mu", k.mu);
  add("output.output", out);
  add("output.disc_logits", m.discriminate(out, false, false));
  add("output.site_logits", m.site_logits(a.mu));
  nlohmann::json j = mc;
  st.metadata["model_config"] = j.dump();
  io::write_safetensors(path, st);
  std::printf("wrote %s\n", path.c_str());
  return 0;
}
}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"imunity-bench-train: time the ImUnity training step and inference on synthetic slices"};
  std::vector<std::string> sizes = {"128x128"};
  std::vector<int> batches = {16};
  int steps = 5, warmup = 2, threads = 0;
  std::string device = "auto", dump, json_out;
  bool tf32 = false;
  app.add_option("--size", sizes, "Input sizes HxW (multiples of 16)");
  app.add_option("--batch", batches, "Batch sizes");
  app.add_option("--steps", steps, "Timed steps");
  app.add_option("--warmup", warmup, "Untimed steps first");
  app.add_option("--threads", threads, "CPU threads (default all)");
  app.add_option("--device", device, "cpu, cuda or auto");
  app.add_flag("--tf32", tf32, "TF32 tensor-core math on the GPU");
  app.add_option("--dump-forward", dump, "Write weights, a fixed input and our outputs (safetensors) and exit");
  app.add_option("--json", json_out, "Also write the results as JSON");
  CLI11_PARSE(app, argc, argv);
  if (!dump.empty()) return dump_forward(dump, 128, 128);
  if (threads > 0) set_num_threads(threads);
  Device dev = parse_device(device);
  if (dev == Device::CUDA) cuda::set_tf32(tf32);
  std::printf("imunity-bench-train on %s, %s\n",
              dev == Device::CUDA ? cuda::device_description().c_str() : bench::cpu_model().c_str(),
              dev == Device::CUDA ? (tf32 ? "TF32 on" : "TF32 off") : (std::to_string(num_threads()) + " threads").c_str());
  std::printf("%-10s %6s %14s %14s %16s %10s\n", "size", "batch", "step ms", "slices/s", "inference sl/s", "raw allocs");
  nlohmann::json results = nlohmann::json::array();
  for (const std::string& size : sizes) {
    int h = 0, w = 0;
    if (std::sscanf(size.c_str(), "%dx%d", &h, &w) != 2) {
      std::fprintf(stderr, "bad --size %s (expected HxW)\n", size.c_str());
      return 2;
    }
    for (int b : batches) {
      model::ModelConfig mc;
      mc.image_h = h, mc.image_w = w, mc.n_sites = 4;
      model::ImUnity m(mc, dev, 1);
      model::TrainConfig tc;
      tc.batch = b;
      model::Trainer trainer(m, tc);
      model::TrainBatch batch = synthetic_batch(b, h, w, mc.n_sites, dev);
      for (int i = 0; i < warmup; ++i) trainer.step(batch);
      sync(dev);
      uint64_t allocs0 = allocator_stats(dev).raw_allocs;
      double t0 = now_s();
      for (int i = 0; i < steps; ++i) trainer.step(batch);
      sync(dev);
      double t_step = (now_s() - t0) / steps;
      uint64_t allocs = allocator_stats(dev).raw_allocs - allocs0;
      Tensor code = model::mean_contrast_code(m, batch.s2);
      for (int i = 0; i < warmup; ++i) model::harmonize_slices(m, batch.s1, code);
      sync(dev);
      t0 = now_s();
      for (int i = 0; i < steps; ++i) model::harmonize_slices(m, batch.s1, code);
      sync(dev);
      double t_inf = (now_s() - t0) / steps;
      std::printf("%-10s %6d %14.1f %14.1f %16.1f %10llu\n", size.c_str(), b, 1e3 * t_step, b / t_step, b / t_inf,
                  static_cast<unsigned long long>(allocs));
      results.push_back({{"size", size}, {"batch", b}, {"device", device_name(dev)}, {"threads", num_threads()},
                         {"train_step_ms", 1e3 * t_step}, {"train_slices_per_s", b / t_step},
                         {"inference_slices_per_s", b / t_inf}, {"raw_allocs_in_timed_steps", allocs}});
    }
  }
  if (!json_out.empty()) std::ofstream(json_out) << results.dump(1) << "\n";
  return 0;
}
