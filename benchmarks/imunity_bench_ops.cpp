// imunity-bench-ops: conv2d and conv_transpose2d forward + backward at the model's real shapes
// (batch 16), on the CPU and on CUDA when present, next to PyTorch CPU on the same threads
// (benchmarks/torch_ops.py, run through /usr/bin/python3 when torch is installed there); and
// rank_normalize (model.anatomy_input "rank") beside the first encoder convolution it feeds.
#include <CLI/CLI.hpp>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "benchmarks/machine.h"
#include "benchmarks/timing.h"
#include "engine/autograd.h"
#include "engine/device.h"
#include "engine/ops.h"
#include "engine/rng.h"
#include "kernels/cuda_api.h"

using namespace im;

namespace {
struct Layer {
  std::string name;
  bool transposed;
  int64_t cin, cout, stride, h, w;  // the layer's input [16, cin, h, w]
  int64_t k = 3;
};

struct Timing {
  double fwd_ms = 0, bwd_ms = 0;
};

// The model's convolutions at input size h x w, each at the spatial size it sees (IMUNITY_NOTES.md).
std::vector<Layer> model_layers(int64_t h, int64_t w) {
  return {
      {"enc1", false, 1, 16, 2, h, w},          {"enc2", false, 16, 32, 2, h / 2, w / 2},
      {"enc3", false, 32, 64, 2, h / 4, w / 4}, {"enc4", false, 64, 128, 2, h / 8, w / 8},
      {"enc5", false, 128, 128, 1, h / 16, w / 16},
      {"dec1", true, 128, 128, 1, h / 16, w / 16}, {"dec2", true, 128, 64, 2, h / 16, w / 16},
      {"dec3", true, 64, 32, 2, h / 8, w / 8},     {"dec4", true, 32, 16, 2, h / 4, w / 4},
      {"dec5", true, 16, 8, 2, h / 2, w / 2},      {"dec6", true, 8, 1, 1, h, w},
      {"disc1", false, 1, 64, 2, h, w},          {"disc2", false, 64, 64, 2, h / 2, w / 2},
      {"disc3", false, 64, 64, 2, h / 4, w / 4}, {"disc4", false, 64, 1, 1, h / 8, w / 8},
  };
}

// Multiply-adds x 2 of the forward; the backward (data + weight gradients) costs twice as much.
double forward_flops(const Layer& l, int64_t batch) {
  const int64_t small_h = l.transposed ? l.h : (l.h + l.stride - 1) / l.stride;
  const int64_t small_w = l.transposed ? l.w : (l.w + l.stride - 1) / l.stride;
  return 2.0 * batch * l.cin * l.cout * l.k * l.k * small_h * small_w;
}

std::string shape_str(const Layer& l, int64_t batch) {
  const int64_t oh = l.transposed ? l.h * l.stride : (l.h + l.stride - 1) / l.stride;
  const int64_t ow = l.transposed ? l.w * l.stride : (l.w + l.stride - 1) / l.stride;
  std::ostringstream os;
  os << (l.transposed ? "convT " : "conv ") << batch << "x" << l.cin << "x" << l.h << "x" << l.w << " -> " << l.cout
     << "x" << oh << "x" << ow << " s" << l.stride;
  return os.str();
}

Tensor run(const Layer& l, const Tensor& x, const Tensor& w, const Tensor& b) {
  return l.transposed ? conv_transpose2d(x, w, b, static_cast<int>(l.stride)) : conv2d(x, w, b, static_cast<int>(l.stride));
}

double now_ms() { return 1e3 * bench::now_s(); }

// CPU: the best of `reps` single runs after one warm-up. CUDA: the mean over a loop of `reps`
// runs between two synchronizations, after a warm-up that also finds the cuDNN algorithms. The
// backward computes the gradients of x, w and bias, as a training step does.
Timing time_layer(const Layer& l, int64_t batch, Device dev, int reps) {
  Generator gen(1);
  Tensor x = rand_uniform({batch, l.cin, l.h, l.w}, gen, dev).set_requires_grad(true);
  Shape ws = l.transposed ? Shape{l.cin, l.cout, l.k, l.k} : Shape{l.cout, l.cin, l.k, l.k};
  Tensor w = rand_uniform(ws, gen, dev, -0.1f, 0.1f).set_requires_grad(true);
  Tensor b = rand_uniform({l.cout}, gen, dev).set_requires_grad(true);
  Tensor dy;
  {
    NoGrad ng;
    dy = rand_uniform(run(l, x, w, b).shape(), gen, dev);
  }
  if (dev == Device::CUDA) {
    autograd::backward(run(l, x, w, b), dy);
    cuda::synchronize();
    const double t0 = now_ms();
    {
      NoGrad ng;
      for (int r = 0; r < reps; ++r) run(l, x, w, b);
    }
    cuda::synchronize();
    const double t1 = now_ms();
    Tensor y = run(l, x, w, b);
    cuda::synchronize();
    const double t2 = now_ms();
    for (int r = 0; r < reps; ++r) autograd::backward(y, dy, /*retain_tape=*/true);
    cuda::synchronize();
    const double t3 = now_ms();
    autograd::clear_tape();
    return Timing{(t1 - t0) / reps, (t3 - t2) / reps};
  }
  Timing best{1e30, 1e30};
  for (int r = 0; r <= reps; ++r) {
    x.drop_grad(), w.drop_grad(), b.drop_grad();  // fresh zeroed gradients, as in a training step
    const double t0 = now_ms();
    Tensor y = run(l, x, w, b);
    const double t1 = now_ms();
    autograd::backward(y, dy);
    const double t2 = now_ms();
    if (r == 0) continue;
    best.fwd_ms = std::min(best.fwd_ms, t1 - t0);
    best.bwd_ms = std::min(best.bwd_ms, t2 - t1);
  }
  return best;
}


// Runs benchmarks/torch_ops.py on the same layers; returns {} (and why) when it cannot.
std::map<std::string, Timing> torch_timings(const std::string& script, const std::vector<Layer>& layers, int64_t batch,
                                           int threads, int reps, std::string* note) {
  std::map<std::string, Timing> out;
  if (!std::ifstream("/usr/bin/python3")) {
    *note = "PyTorch: skipped, /usr/bin/python3 not found";
    return out;
  }
  if (!std::ifstream(script)) {
    *note = "PyTorch: skipped, " + script + " not found (pass --torch-script)";
    return out;
  }
  std::ostringstream cmd;
  cmd << "/usr/bin/python3 " << script << " --threads " << threads << " --reps " << reps << " --batch " << batch
      << " --layers ";
  for (size_t i = 0; i < layers.size(); ++i) {
    const Layer& l = layers[i];
    cmd << (i ? "," : "") << l.name << ":" << (l.transposed ? "convT" : "conv") << ":" << l.cin << ":" << l.cout << ":"
        << l.k << ":" << l.stride << ":" << l.h << ":" << l.w;
  }
  cmd << " 2>&1";
  std::unique_ptr<FILE, int (*)(FILE*)> pipe(popen(cmd.str().c_str(), "r"), pclose);
  if (!pipe) {
    *note = "PyTorch: skipped, could not start /usr/bin/python3";
    return out;
  }
  char buf[512];
  std::string last;
  while (fgets(buf, sizeof buf, pipe.get())) {
    std::istringstream is(buf);
    std::string name;
    Timing t;
    last = buf;
    if (last.rfind("machine ", 0) == 0) *note = "PyTorch: " + last.substr(8, last.size() - 9);
    else if (is >> name >> t.fwd_ms >> t.bwd_ms) out[name] = t;
  }
  if (out.empty()) *note = "PyTorch: skipped, torch_ops.py failed: " + last;
  return out;
}

// Keeps, per layer, the best forward and backward times seen so far.
void keep_best(std::map<std::string, Timing>& best, const std::map<std::string, Timing>& t) {
  for (const auto& [name, v] : t) {
    auto it = best.find(name);
    if (it == best.end()) {
      best[name] = v;
    } else {
      it->second.fwd_ms = std::min(it->second.fwd_ms, v.fwd_ms);
      it->second.bwd_ms = std::min(it->second.bwd_ms, v.bwd_ms);
    }
  }
}

std::map<std::string, Timing> measure(const std::vector<Layer>& layers, int64_t batch, Device dev, int reps) {
  std::map<std::string, Timing> out;
  for (const Layer& l : layers) out[l.name] = time_layer(l, batch, dev, reps);
  return out;
}

void print_table(const std::string& title, const std::vector<Layer>& layers, int64_t batch,
                 const std::map<std::string, Timing>& ours, const std::map<std::string, Timing>& torch) {
  std::printf("\n%s\n\n", title.c_str());
  std::printf("| layer | shape | ms fwd | ms bwd | GFLOP/s |%s\n", torch.empty() ? "" : " torch fwd | torch bwd | ours/torch |");
  std::printf("|---|---|---:|---:|---:|%s\n", torch.empty() ? "" : "---:|---:|---:|");
  double tot_f = 0, tot_b = 0, tot_flops = 0, tt_f = 0, tt_b = 0;
  for (const Layer& l : layers) {
    const Timing& t = ours.at(l.name);
    const double flops = 3 * forward_flops(l, batch);
    tot_f += t.fwd_ms, tot_b += t.bwd_ms, tot_flops += flops;
    std::printf("| %s | %s | %.2f | %.2f | %.1f |", l.name.c_str(), shape_str(l, batch).c_str(), t.fwd_ms, t.bwd_ms,
                flops / (t.fwd_ms + t.bwd_ms) / 1e6);
    auto it = torch.find(l.name);
    if (it != torch.end()) {
      const Timing& p = it->second;
      tt_f += p.fwd_ms, tt_b += p.bwd_ms;
      std::printf(" %.2f | %.2f | %.2f |", p.fwd_ms, p.bwd_ms, (t.fwd_ms + t.bwd_ms) / (p.fwd_ms + p.bwd_ms));
    }
    std::printf("\n");
  }
  std::printf("| total | | %.2f | %.2f | %.1f |", tot_f, tot_b, tot_flops / (tot_f + tot_b) / 1e6);
  if (!torch.empty()) std::printf(" %.2f | %.2f | %.2f |", tt_f, tt_b, (tot_f + tot_b) / (tt_f + tt_b));
  std::printf("\n");
  std::fflush(stdout);
}
// rank_normalize on a batch of slices whose centre ellipse (some 60% of the pixels, as a brain)
// is foreground: the best of `reps` after one warm-up (CUDA: the mean of a loop).
double time_rank(int64_t batch, int64_t h, int64_t w, Device dev, int reps) {
  Generator gen(2);
  std::vector<float> v = rand_uniform({batch, 1, h, w}, gen, Device::CPU, 0.01f, 1.f).to_vector();
  for (int64_t n = 0; n < batch; ++n)
    for (int64_t y = 0; y < h; ++y)
      for (int64_t x = 0; x < w; ++x) {
        const double dy = (y - h / 2.0) / (0.45 * h), dx = (x - w / 2.0) / (0.45 * w);
        if (dx * dx + dy * dy > 1) v[(n * h + y) * w + x] = 0.f;
      }
  Tensor in = Tensor::from_vector(v, {batch, 1, h, w}).to(dev);
  rank_normalize(in, 0.001f, 0.05f);
  if (dev == Device::CUDA) {
    cuda::synchronize();
    const double t0 = now_ms();
    for (int r = 0; r < reps; ++r) rank_normalize(in, 0.001f, 0.05f);
    cuda::synchronize();
    return (now_ms() - t0) / reps;
  }
  double best = 1e30;
  for (int r = 0; r < reps; ++r) {
    const double t0 = now_ms();
    rank_normalize(in, 0.001f, 0.05f);
    best = std::min(best, now_ms() - t0);
  }
  return best;
}

void print_rank(int64_t batch, int64_t h, int64_t w, const char* device, double rank_ms, const Timing& enc1) {
  std::printf("\nrank_normalize (%s, %lldx1x%lldx%lld): %.3f ms; enc1 forward + backward %.2f ms; ratio %.3f\n", device,
              static_cast<long long>(batch), static_cast<long long>(h), static_cast<long long>(w), rank_ms,
              enc1.fwd_ms + enc1.bwd_ms, rank_ms / (enc1.fwd_ms + enc1.bwd_ms));
}
}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"imunity-bench-ops: conv and transposed conv at the model's shapes, CPU (vs PyTorch) and CUDA"};
  int threads = num_threads(), reps = 5;
  std::string size = "all";
  std::string script = std::string(__FILE__).substr(0, std::string(__FILE__).rfind('/') + 1) + "torch_ops.py";
  bool no_torch = false;
  int rounds = 1;
  app.add_option("--threads", threads, "CPU threads (ours and PyTorch's)");
  app.add_option("--size", size, "input size: 128, 192x224 or all")->check(CLI::IsMember({"128", "192x224", "all"}));
  app.add_option("--reps", reps, "timed repetitions per layer (the best is reported)");
  app.add_option("--torch-script", script, "path of benchmarks/torch_ops.py");
  app.add_option("--rounds", rounds, "alternate PyTorch and ours this many times, keeping each layer's best (busy machines)");
  app.add_flag("--no-torch", no_torch, "do not run PyTorch");
  CLI11_PARSE(app, argc, argv);
  set_num_threads(threads);
  const int64_t batch = 16;

  std::printf("imunity-bench-ops: CPU %s, %d threads; GPU %s\n", bench::cpu_model().c_str(), num_threads(),
              cuda_available() ? cuda::device_description().c_str() : "none");
  std::vector<std::pair<int64_t, int64_t>> sizes;
  if (size != "192x224") sizes.push_back({128, 128});
  if (size != "128") sizes.push_back({192, 224});
  for (auto [h, w] : sizes) {
    std::vector<Layer> layers = model_layers(h, w);
    std::printf("\n== input %lldx%lld\n", static_cast<long long>(h), static_cast<long long>(w));
    std::string note = "PyTorch: skipped (--no-torch)";
    std::map<std::string, Timing> torch, cpu, gpu;
    for (int r = 0; r < rounds; ++r) {
      if (!no_torch) keep_best(torch, torch_timings(script, layers, batch, threads, reps, &note));
      keep_best(cpu, measure(layers, batch, Device::CPU, reps));
    }
    std::printf("%s\n", note.c_str());
    print_table("CPU, " + std::to_string(num_threads()) + " threads, batch " + std::to_string(batch) + ", best of " +
                    std::to_string(reps * rounds),
                layers, batch, cpu, torch);
    print_rank(batch, h, w, "CPU", time_rank(batch, h, w, Device::CPU, reps), cpu["enc1"]);
    if (cuda_available()) {
      for (int r = 0; r < rounds; ++r) keep_best(gpu, measure(layers, batch, Device::CUDA, reps * 4));
      print_table("CUDA " + cuda::device_description() + ", batch " + std::to_string(batch) + ", mean of " +
                      std::to_string(reps * 4) + " runs, best of " + std::to_string(rounds) + " rounds",
                  layers, batch, gpu, {});
      print_rank(batch, h, w, "CUDA", time_rank(batch, h, w, Device::CUDA, reps * 4), gpu["enc1"]);
    } else {
      std::printf("\nCUDA: skipped, %s\n", cuda_unavailable_reason().c_str());
    }
  }
  return 0;
}
