// imunity-bench-kernels: every fused kernel of the model, in each version tried (v1 = the production
// function in kernels/, later versions in benchmarks/kernel_versions.cuh), checked against its CPU
// twin on the same inputs, then timed with CUDA events after warm-up at the model's real sizes, with
// the achieved bandwidth beside a device-to-device cudaMemcpy that moves the same bytes in the same
// run. Usage: imunity-bench-kernels [--iters N] [--warmup N] [--only SUBSTRING]
#include <cuda_runtime.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <functional>
#include <string>
#include <vector>

#include "benchmarks/cuda_timing.cuh"
#include "benchmarks/kernel_versions.cuh"
#include "engine/device.h"
#include "kernels/activation.h"
#include "kernels/adam.h"
#include "kernels/bce.h"
#include "kernels/cuda_api.h"
#include "kernels/cuda_context.cuh"
#include "kernels/gamma.h"
#include "kernels/kl.h"
#include "kernels/masked_l1.h"
#include "kernels/philox.h"
#include "kernels/reparam.h"
#include "kernels/site_loss.h"
#include "kernels/ssim.h"
#include "kernels/ssim_tile.cuh"
#include "kernels/upsample.h"

using namespace im;
using bench::Buf;

namespace {

// ---------------------------------------------------------------------------------------------
// Harness
struct Options {
  int warmup = 20, iters = 200;
  std::string only;
};
Options g_opt;
int g_failures = 0;
struct Shortfall {
  std::string what;
  double pct;
};
std::vector<Shortfall> g_short;  // memory-bound rows under 80% of copy bandwidth

std::vector<float> uniform(size_t n, uint64_t seed, float lo, float hi) {
  std::vector<float> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = lo + (hi - lo) * philox::uniform(seed, 0, i);
  return v;
}

// ||got - ref|| / ||ref|| over all pairs given (a loss scalar is a vector of one).
double rel_error(const std::vector<std::pair<std::vector<float>, std::vector<float>>>& pairs) {
  double num = 0, den = 0;
  for (const auto& [got, ref] : pairs)
    for (size_t i = 0; i < ref.size(); ++i) {
      const double d = static_cast<double>(got[i]) - ref[i];
      num += d * d;
      den += static_cast<double>(ref[i]) * ref[i];
    }
  return std::sqrt(num) / std::max(std::sqrt(den), 1e-30);
}

enum class Bound { Memory, Latency, Compute };
const char* bound_name(Bound b) { return b == Bound::Memory ? "mem" : b == Bound::Latency ? "lat" : "comp"; }

struct Version {
  std::string name;
  std::function<void()> run;
};

// One table row per version: check against the CPU twin (after reset), then time.
void bench_case(const std::string& kernel, const std::string& shape, double bytes, Bound bound,
                const std::vector<Version>& versions, const std::function<void()>& reset,
                const std::function<double()>& error) {
  if (!g_opt.only.empty() && kernel.find(g_opt.only) == std::string::npos) return;
  const double copy = bench::copy_gbs(bytes, g_opt.warmup, g_opt.iters);
  for (const Version& v : versions) {
    reset();
    v.run();
    const double err = error();
    const bool ok = err < 1e-4;
    if (!ok) ++g_failures;
    const bench::GpuTiming t = bench::time_gpu(v.run, g_opt.warmup, g_opt.iters);
    const double us = std::isnan(t.graph_us) ? t.eager_us : t.graph_us;
    const double gbs = bytes / (us * 1e3);
    const double pct = 100.0 * gbs / copy;
    std::printf("%-28s %-29s %-16s %9.3f %9.2f %9.2f %8.1f %8.1f %6.1f%% %-4s %8.1e %s\n", kernel.c_str(),
                v.name.c_str(), shape.c_str(), bytes / 1e6, t.eager_us, t.graph_us, gbs, copy, pct, bound_name(bound),
                err, ok ? "ok" : "MISMATCH");
    if (bound == Bound::Memory && pct < 80.0) g_short.push_back({kernel + " " + v.name + " " + shape, pct});
  }
}

std::string shape_str(std::initializer_list<int64_t> d) {
  std::string s;
  for (int64_t v : d) s += (s.empty() ? "" : "x") + std::to_string(v);
  return s;
}

constexpr int64_t kBatch = 16;
struct Image {
  int H, W;
};
const Image kImages[] = {{128, 128}, {192, 224}};

// ---------------------------------------------------------------------------------------------
// Kernels
void bench_gamma() {
  for (Image im : kImages) {
    const int64_t per = int64_t(im.H) * im.W, n = kBatch * per;
    const std::string shape = shape_str({kBatch, 1, im.H, im.W});
    std::vector<float> x = uniform(n, 1, 0.f, 1.f), g = uniform(kBatch, 2, 0.5f, 1.5f), dy = uniform(n, 3, -1.f, 1.f);
    std::vector<float> y_ref(n), dx_ref(n, 0.f);
    gamma_forward_cpu(y_ref.data(), x.data(), g.data(), kBatch, per);
    gamma_backward_cpu(dx_ref.data(), dy.data(), x.data(), g.data(), kBatch, per);
    Buf dx_(x), dg(g), ddy(dy), dy_out(n), ddx(n);
    bench_case("gamma fwd", shape, 8.0 * n, Bound::Memory,
               {{"v1 kernels/gamma.cu", [&] { gamma_forward_cuda(dy_out.d, dx_.d, dg.d, kBatch, per); }},
                {"v2 flat, index division", [&] { bench::gamma_forward_v2(dy_out.d, dx_.d, dg.d, kBatch, per); }}},
               [&] { dy_out.zero(); }, [&] { return rel_error({{dy_out.download(), y_ref}}); });
    bench_case("gamma bwd", shape, 16.0 * n, Bound::Memory,
               {{"v1 kernels/gamma.cu", [&] { gamma_backward_cuda(ddx.d, ddy.d, dx_.d, dg.d, kBatch, per); }}},
               [&] { ddx.zero(); }, [&] { return rel_error({{ddx.download(), dx_ref}}); });
  }
}

void bench_reparam() {
  for (Image im : kImages) {
    const int64_t n = kBatch * 64 * (im.H / 16) * (im.W / 16);
    const std::string shape = shape_str({kBatch, 64, im.H / 16, im.W / 16});
    std::vector<float> mu = uniform(n, 4, -2.f, 2.f), lv = uniform(n, 5, -3.f, 1.f), dz = uniform(n, 6, -1.f, 1.f);
    std::vector<float> z_ref(n), e_ref(n), dmu_ref(n, 0.f), dlv_ref(n, 0.f);
    reparameterize_forward_cpu(z_ref.data(), e_ref.data(), mu.data(), lv.data(), n, 99, 7);
    reparameterize_backward_cpu(dmu_ref.data(), dlv_ref.data(), dz.data(), e_ref.data(), lv.data(), n);
    Buf dmu(mu), dlv(lv), ddz(dz), z(n), e(n), gmu(n), glv(n), e_in(e_ref);
    bench_case("reparameterize fwd", shape, 16.0 * n, Bound::Compute,
               {{"v1 kernels/reparam.cu", [&] { reparameterize_forward_cuda(z.d, e.d, dmu.d, dlv.d, n, 99, 7); }},
                {"v2 one Philox block/thread", [&] { bench::reparameterize_forward_v2(z.d, e.d, dmu.d, dlv.d, n, 99, 7); }}},
               [&] { z.zero(), e.zero(); }, [&] { return rel_error({{z.download(), z_ref}, {e.download(), e_ref}}); });
    bench_case("reparameterize bwd", shape, 28.0 * n, Bound::Memory,
               {{"v1 kernels/reparam.cu", [&] { reparameterize_backward_cuda(gmu.d, glv.d, ddz.d, e_in.d, dlv.d, n); }}},
               [&] { gmu.zero(), glv.zero(); },
               [&] { return rel_error({{gmu.download(), dmu_ref}, {glv.download(), dlv_ref}}); });
  }
}

void bench_kl() {
  for (Image im : kImages) {
    const int64_t n = kBatch * 64 * (im.H / 16) * (im.W / 16);
    const std::string shape = shape_str({kBatch, 64, im.H / 16, im.W / 16});
    std::vector<float> mu = uniform(n, 7, -2.f, 2.f), lv = uniform(n, 8, -3.f, 1.f);
    std::vector<float> loss_ref(1), dmu_ref(n, 0.f), dlv_ref(n, 0.f), one{1.f};
    kl_forward_cpu(loss_ref.data(), mu.data(), lv.data(), n, kBatch);
    kl_backward_cpu(dmu_ref.data(), dlv_ref.data(), one.data(), mu.data(), lv.data(), n, kBatch);
    Buf dmu(mu), dlv(lv), loss(1), dloss(one), gmu(n), glv(n);
    bench_case("kl fwd", shape, 8.0 * n, Bound::Memory,
               {{"v1 kernels/kl.cu, 2 passes", [&] { kl_forward_cuda(loss.d, dmu.d, dlv.d, n, kBatch); }},
                {"v2 1 pass, last block sums", [&] { bench::kl_forward_v2(loss.d, dmu.d, dlv.d, n, kBatch); }}},
               [&] { loss.zero(); }, [&] { return rel_error({{loss.download(), loss_ref}}); });
    bench_case("kl bwd", shape, 24.0 * n, Bound::Memory,
               {{"v1 kernels/kl.cu", [&] { kl_backward_cuda(gmu.d, glv.d, dloss.d, dmu.d, dlv.d, n, kBatch); }}},
               [&] { gmu.zero(), glv.zero(); },
               [&] { return rel_error({{gmu.download(), dmu_ref}, {glv.download(), dlv_ref}}); });
  }
}

void bench_site() {
  const int64_t N = kBatch, S = 5;
  std::vector<float> logits = uniform(N * S, 9, -4.f, 4.f), labels(N), one{1.f};
  for (int64_t i = 0; i < N; ++i) labels[i] = static_cast<float>(i % S);
  Buf dl(logits), dlab(labels), dloss(one), loss(1), grad(N * S);
  const std::string shape = shape_str({N, S});
  const double fwd_bytes = 4.0 * (N * S + N), bwd_bytes = 4.0 * (3 * N * S + N);
  for (bool confusion : {false, true}) {
    const float* lab = confusion ? nullptr : dlab.d;
    const float sm = confusion ? 1.f : 0.1f;
    std::vector<float> loss_ref(1), g_ref(N * S, 0.f);
    site_loss_forward_cpu(loss_ref.data(), logits.data(), confusion ? nullptr : labels.data(), N, S, sm);
    site_loss_backward_cpu(g_ref.data(), one.data(), logits.data(), confusion ? nullptr : labels.data(), N, S, sm);
    const std::string name = confusion ? "confusion" : "site CE (smoothing 0.1)";
    bench_case(name + " fwd", shape, fwd_bytes, Bound::Latency,
               {{"v1 kernels/site_loss.cu", [&] { site_loss_forward_cuda(loss.d, dl.d, lab, N, S, sm); }}},
               [&] { loss.zero(); }, [&] { return rel_error({{loss.download(), loss_ref}}); });
    bench_case(name + " bwd", shape, bwd_bytes, Bound::Latency,
               {{"v1 kernels/site_loss.cu", [&] { site_loss_backward_cuda(grad.d, dloss.d, dl.d, lab, N, S, sm); }}},
               [&] { grad.zero(); }, [&] { return rel_error({{grad.download(), g_ref}}); });
  }
}

void bench_bce() {
  for (Image im : kImages) {
    const int64_t n = kBatch * (im.H / 8) * (im.W / 8);  // the discriminator's patch logits
    const std::string shape = shape_str({kBatch, 1, im.H / 8, im.W / 8});
    std::vector<float> x = uniform(n, 10, -6.f, 6.f), t = uniform(n, 11, 0.f, 1.f), one{1.f};
    std::vector<float> loss_ref(1), dx_ref(n, 0.f);
    bce_forward_cpu(loss_ref.data(), x.data(), t.data(), n);
    bce_backward_cpu(dx_ref.data(), nullptr, one.data(), x.data(), t.data(), n);
    Buf dx_(x), dt(t), loss(1), dloss(one), g(n);
    bench_case("bce fwd", shape, 8.0 * n, Bound::Latency,
               {{"v1 kernels/bce.cu", [&] { bce_forward_cuda(loss.d, dx_.d, dt.d, n); }}}, [&] { loss.zero(); },
               [&] { return rel_error({{loss.download(), loss_ref}}); });
    bench_case("bce bwd (logits)", shape, 16.0 * n, Bound::Latency,
               {{"v1 kernels/bce.cu", [&] { bce_backward_cuda(g.d, nullptr, dloss.d, dx_.d, dt.d, n); }}},
               [&] { g.zero(); }, [&] { return rel_error({{g.download(), dx_ref}}); });
  }
}

void bench_l1() {
  for (Image im : kImages) {
    const int64_t n = kBatch * im.H * im.W;
    const std::string shape = shape_str({kBatch, 1, im.H, im.W});
    std::vector<float> a = uniform(n, 12, 0.f, 1.f), b = uniform(n, 13, 0.f, 1.f), m = uniform(n, 14, 0.f, 1.f), one{1.f};
    for (float& v : m) v = v < 0.6f ? 1.f : 0.f;
    std::vector<float> loss_ref(1), inv_ref(1), da_ref(n, 0.f);
    masked_l1_forward_cpu(loss_ref.data(), inv_ref.data(), a.data(), b.data(), m.data(), n);
    masked_l1_backward_cpu(da_ref.data(), nullptr, one.data(), inv_ref.data(), a.data(), b.data(), m.data(), n);
    Buf da_(a), db_(b), dm(m), loss(1), inv(1), dloss(one), g(n);
    bench_case("masked l1 fwd", shape, 12.0 * n, Bound::Memory,
               {{"v1 kernels/masked_l1.cu", [&] { masked_l1_forward_cuda(loss.d, inv.d, da_.d, db_.d, dm.d, n); }}},
               [&] { loss.zero(), inv.zero(); },
               [&] { return rel_error({{loss.download(), loss_ref}, {inv.download(), inv_ref}}); });
    bench_case("masked l1 bwd (a)", shape, 20.0 * n, Bound::Memory,
               {{"v1 kernels/masked_l1.cu",
                 [&] { masked_l1_backward_cuda(g.d, nullptr, dloss.d, inv.d, da_.d, db_.d, dm.d, n); }}},
               [&] { g.zero(); }, [&] { return rel_error({{g.download(), da_ref}}); });
  }
}

template <int T>
void ssim_forward_tile(float* loss, const float* a, const float* b, int64_t N, int H, int W) {
  static const SsimWindow win = ssim_gaussian_window();
  float* partials = lossred::partials_buffer(ssim_tile::forward_blocks<T>(N, H, W));
  const int blocks = ssim_tile::launch_forward<T>(partials, a, b, N, H, W, win);
  lossred::finalize_sum(loss, partials, blocks, 1.0 / (double(N) * (H - 10) * (W - 10)), 0.0);
}
template <int T>
void ssim_backward_tile(float* da, float* db, const float* dloss, const float* a, const float* b, int64_t N, int H,
                        int W) {
  static const SsimWindow win = ssim_gaussian_window();
  ssim_tile::launch_backward<T>(da, db, dloss, a, b, N, H, W, win);
}

void bench_ssim() {
  for (Image im : kImages) {
    const int64_t n = kBatch * im.H * im.W;
    const int H = im.H, W = im.W;
    const std::string shape = shape_str({kBatch, 1, im.H, im.W});
    std::vector<float> a = uniform(n, 15, 0.f, 1.f), noise = uniform(n, 16, 0.f, 1.f), b(n), one{1.f};
    for (int64_t i = 0; i < n; ++i) b[i] = 0.7f * a[i] + 0.3f * noise[i];
    std::vector<float> loss_ref(1), da_ref(n, 0.f);
    ssim_forward_cpu(loss_ref.data(), a.data(), b.data(), kBatch, H, W);
    ssim_backward_cpu(da_ref.data(), nullptr, one.data(), a.data(), b.data(), kBatch, H, W);
    Buf da_(a), db_(b), loss(1), dloss(one), g(n);
    bench_case("ssim fwd", shape, 8.0 * n, Bound::Compute,
               {{"v1 kernels/ssim.cu (tile 16)", [&] { ssim_forward_cuda(loss.d, da_.d, db_.d, kBatch, H, W); }},
                {"v2 tile 8", [&] { ssim_forward_tile<8>(loss.d, da_.d, db_.d, kBatch, H, W); }},
                {"v3 tile 32", [&] { ssim_forward_tile<32>(loss.d, da_.d, db_.d, kBatch, H, W); }}},
               [&] { loss.zero(); }, [&] { return rel_error({{loss.download(), loss_ref}}); });
    // The generator's case: only the output a (the reconstruction) needs a gradient.
    bench_case("ssim bwd (a)", shape, 16.0 * n, Bound::Compute,
               {{"v1 kernels/ssim.cu (tile 16)",
                 [&] { ssim_backward_cuda(g.d, nullptr, dloss.d, da_.d, db_.d, kBatch, H, W); }},
                {"v2 tile 8", [&] { ssim_backward_tile<8>(g.d, nullptr, dloss.d, da_.d, db_.d, kBatch, H, W); }},
                {"v3 tile 32", [&] { ssim_backward_tile<32>(g.d, nullptr, dloss.d, da_.d, db_.d, kBatch, H, W); }}},
               [&] { g.zero(); }, [&] { return rel_error({{g.download(), da_ref}}); });
  }
}

void bench_adam() {
  const int64_t n = 1500000;  // about the model's parameter count, one contiguous group
  std::vector<float> p = uniform(n, 17, -0.1f, 0.1f), g = uniform(n, 18, -1e-2f, 1e-2f), m = uniform(n, 19, -1e-3f, 1e-3f),
                     v = uniform(n, 20, 0.f, 1e-5f);
  AdamArgs args{1e-4f, 0.5f, 0.999f, 1e-8f, 0.f, 0.f, 0.f};
  args.step_size = args.lr / (1.f - std::pow(args.beta1, 3.f));
  args.bias2_sqrt = std::sqrt(1.f - std::pow(args.beta2, 3.f));
  std::vector<float> p_ref = p, m_ref = m, v_ref = v;
  adam_step_cpu(p_ref.data(), g.data(), m_ref.data(), v_ref.data(), n, args);
  Buf dp(p), dg(g), dm(m), dv(v);
  bench_case("adam", shape_str({n}), 28.0 * n, Bound::Memory,
             {{"v1 kernels/adam.cu", [&] { adam_step_cuda(dp.d, dg.d, dm.d, dv.d, n, args); }},
              {"v2 float4", [&] { bench::adam_step_v2(dp.d, dg.d, dm.d, dv.d, n, args); }}},
             [&] { dp.upload(p), dm.upload(m), dv.upload(v); },
             [&] { return rel_error({{dp.download(), p_ref}, {dm.download(), m_ref}, {dv.download(), v_ref}}); });
}

void bench_activations() {
  for (Image im : kImages) {
    // LeakyReLU/ReLU at the largest activation (the decoder's 8 channels at full resolution);
    // sigmoid on the generator's output [16, 1, H, W].
    for (bool leaky : {true, false}) {
      const int64_t C = leaky ? 8 : 1, n = kBatch * C * im.H * im.W;
      const std::string shape = shape_str({kBatch, C, im.H, im.W});
      std::vector<float> x = uniform(n, 21, -3.f, 3.f), dy = uniform(n, 22, -1.f, 1.f), y_ref(n), dx_ref(n, 0.f);
      if (leaky) {
        leaky_relu_forward_cpu(y_ref.data(), x.data(), n, 0.3f);
        leaky_relu_backward_cpu(dx_ref.data(), dy.data(), y_ref.data(), n, 0.3f);
      } else {
        sigmoid_forward_cpu(y_ref.data(), x.data(), n);
        sigmoid_backward_cpu(dx_ref.data(), dy.data(), y_ref.data(), n);
      }
      Buf dx_(x), ddy(dy), y(n), y_in(y_ref), g(n);
      std::vector<Version> fwd, bwd;
      if (leaky) {
        fwd = {{"v1 kernels/activation.cu", [&] { leaky_relu_forward_cuda(y.d, dx_.d, n, 0.3f); }},
               {"v2 float4", [&] { bench::leaky_relu_forward_v2(y.d, dx_.d, n, 0.3f); }}};
        bwd = {{"v1 kernels/activation.cu", [&] { leaky_relu_backward_cuda(g.d, ddy.d, y_in.d, n, 0.3f); }},
               {"v2 float4", [&] { bench::leaky_relu_backward_v2(g.d, ddy.d, y_in.d, n, 0.3f); }}};
      } else {
        fwd = {{"v1 kernels/activation.cu", [&] { sigmoid_forward_cuda(y.d, dx_.d, n); }}};
        bwd = {{"v1 kernels/activation.cu", [&] { sigmoid_backward_cuda(g.d, ddy.d, y_in.d, n); }}};
      }
      const std::string name = leaky ? "leaky_relu(0.3)" : "sigmoid";
      bench_case(name + " fwd", shape, 8.0 * n, Bound::Memory, fwd, [&] { y.zero(); },
                 [&] { return rel_error({{y.download(), y_ref}}); });
      bench_case(name + " bwd", shape, 16.0 * n, Bound::Memory, bwd, [&] { g.zero(); },
                 [&] { return rel_error({{g.download(), dx_ref}}); });
    }
  }
}

void bench_upsample() {
  for (Image im : kImages) {
    // The resize-convolution decoder's largest upsampling: 16 channels at H/2 x W/2 to H x W.
    const int64_t planes = kBatch * 16, h = im.H / 2, w = im.W / 2, n = planes * h * w;
    const std::string shape = shape_str({kBatch, 16, h, w});
    std::vector<float> x = uniform(n, 31, -1.f, 1.f), dy = uniform(4 * n, 32, -1.f, 1.f), y_ref(4 * n), dx_ref(n, 0.f);
    upsample2x_forward_cpu(y_ref.data(), x.data(), planes, h, w);
    upsample2x_backward_cpu(dx_ref.data(), dy.data(), planes, h, w);
    Buf dx_(x), ddy(dy), y(4 * n), g(n);
    bench_case("upsample2x fwd", shape, 20.0 * n, Bound::Memory,
               {{"v1 kernels/upsample.cu", [&] { upsample2x_forward_cuda(y.d, dx_.d, planes, h, w); }}}, [&] { y.zero(); },
               [&] { return rel_error({{y.download(), y_ref}}); });
    bench_case("upsample2x bwd", shape, 24.0 * n, Bound::Memory,
               {{"v1 kernels/upsample.cu", [&] { upsample2x_backward_cuda(g.d, ddy.d, planes, h, w); }}}, [&] { g.zero(); },
               [&] { return rel_error({{g.download(), dx_ref}}); });
  }
}

// ---- batch norm: kernels/batchnorm.h belongs to a colleague and is not merged yet. ADD HERE:
// forward (training: batch statistics + running-stat update; eval) and backward at the
// discriminator's shapes [16, 64, H/2, W/2], [16, 64, H/4, W/4], [16, 64, H/8, W/8] for both image
// sizes, checked against batch_norm_*_cpu on the same inputs; bytes = 2 reads + 1 write of x for the
// training forward (statistics pass + normalize pass), Bound::Memory. Then call it from main().
// void bench_batchnorm() { ... }

void parse(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "%s needs a value\n", a.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--iters") {
      g_opt.iters = std::max(1, std::atoi(next().c_str()));
    } else if (a == "--warmup") {
      g_opt.warmup = std::max(0, std::atoi(next().c_str()));
    } else if (a == "--only") {
      g_opt.only = next();
    } else {
      std::printf("usage: %s [--iters N (200)] [--warmup N (20)] [--only SUBSTRING of a kernel name]\n", argv[0]);
      std::exit(a == "--help" || a == "-h" ? 0 : 2);
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  parse(argc, argv);
  if (!cuda_available()) {
    std::printf("imunity-bench-kernels needs a GPU: %s\n", cuda_unavailable_reason().c_str());
    return 77;
  }
  cuda::set_tf32(false);
  char date[32];
  const std::time_t now = std::time(nullptr);
  std::strftime(date, sizeof date, "%Y-%m-%d %H:%M", std::localtime(&now));
  std::printf("imunity-bench-kernels on %s, %s; %d warm-up calls, then the mean of %d calls\n",
              cuda::device_description().c_str(), date, g_opt.warmup, g_opt.iters);
  std::printf("eager: launched one by one from the host; graph: the same calls replayed from a CUDA graph (GPU\n"
              "time; GB/s and %% of copy use it). copy: cudaMemcpy device-to-device moving the same bytes (half\n"
              "read, half written), timed the same way. Inputs stay in L2 across iterations where they fit (50 MB\n"
              "on an H100), for the copy as for the kernels. err: ||gpu - cpu|| / ||cpu|| against the CPU twin.\n"
              "bound: mem = memory-bound (goal >= 80%% of copy), lat = too small to be anything but launch/latency-\n"
              "bound, comp = arithmetic (Philox, 11x11 filters).\n\n");
  std::printf("%-28s %-29s %-16s %9s %9s %9s %8s %8s %7s %-4s %8s %s\n", "kernel", "version", "shape", "MB", "eager us",
              "graph us", "GB/s", "copy", "% copy", "bnd", "err", "check");
  bench_gamma();
  bench_reparam();
  bench_kl();
  bench_site();
  bench_bce();
  bench_l1();
  bench_ssim();
  bench_adam();
  bench_activations();
  bench_upsample();
  // bench_batchnorm();  // when kernels/batchnorm.h lands (see above)
  std::printf("\n");
  if (g_short.empty()) {
    std::printf("every memory-bound row reaches 80%% of copy bandwidth\n");
  } else {
    std::printf("memory-bound rows under 80%% of copy bandwidth:\n");
    for (const Shortfall& s : g_short) std::printf("  %-70s %5.1f%%\n", s.what.c_str(), s.pct);
  }
  if (g_failures) std::printf("%d version(s) DISAGREE with their CPU twin\n", g_failures);
  return g_failures ? 1 : 0;
}
