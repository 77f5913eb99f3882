// CPU vs CUDA: the whole ImUnity network (both encoders, decoder, discriminator in training mode,
// site head) forward and backward, every parameter gradient per layer; and three Trainer steps.
#include <catch2/catch.hpp>

#include <cmath>

#include "engine/autograd.h"
#include "engine/rng.h"
#include "model/trainer.h"
#include "support/gradcheck.h"

using namespace im;
using namespace im::model;

namespace {

ModelConfig small_config(bool pooled) {
  ModelConfig mc;
  mc.image_h = 64, mc.image_w = 48;
  mc.n_sites = 3;
  mc.contrast_pooled = pooled;
  return mc;
}

// Norm of a vector, in double.
double norm(const std::vector<float>& v) {
  double s = 0;
  for (float x : v) s += double(x) * x;
  return std::sqrt(s);
}

// Slices with a zero background (below the model's threshold) around random tissue.
Tensor slices(int64_t n, const ModelConfig& mc, uint64_t seed) {
  std::vector<float> v = test::random_tensor({n, 1, mc.image_h, mc.image_w}, seed, 0.05f, 1.f).to_vector();
  for (int64_t i = 0; i < n * mc.image_h; ++i)
    for (int64_t x = 0; x < 6; ++x) v[static_cast<size_t>(i * mc.image_w + x)] = 0.f;  // left border: background
  return Tensor::from_vector(v, {n, 1, mc.image_h, mc.image_w});
}

// Compares every parameter's gradient layer by layer. A layer whose CPU gradient is zero up to
// rounding (a conv bias right before training-mode batch norm) must be as small on the GPU.
void check_gradients(ImUnity& cpu, ImUnity& gpu, double tol) {
  ParamGroup* gc[] = {&cpu.generator, &cpu.discriminator, &cpu.site_head};
  ParamGroup* gg[] = {&gpu.generator, &gpu.discriminator, &gpu.site_head};
  int checked = 0;
  for (int k = 0; k < 3; ++k) {
    const double group = norm(gc[k]->grads().to_vector());
    REQUIRE(group > 0);
    for (size_t e = 0; e < gc[k]->entries().size(); ++e) {
      const std::vector<float> want = gc[k]->entries()[e].param.grad().to_vector();
      const std::vector<float> got = gg[k]->entries()[e].param.grad().to_vector();
      const std::string name = gc[k]->entries()[e].name;
      if (norm(want) < 1e-5 * group) {
        INFO(name << ": zero gradient on the CPU up to rounding, " << norm(got) << " on the GPU");
        CHECK(norm(got) < 1e-4 * group);
      } else {
        test::check_close(got, want, tol, "gradient of " + name);
      }
      ++checked;
    }
  }
  CHECK(checked > 30);
}

}  // namespace

TEST_CASE("parity: the whole model forward and backward") {
  for (bool pooled : {false, true}) {
    INFO((pooled ? "pooled contrast code, ranked anatomy input" : "spatial contrast code"));
    ModelConfig mc = small_config(pooled);
    if (pooled) mc.anatomy_input = "rank";
    ImUnity cpu(mc, Device::CPU, 3), gpu(mc, Device::CPU, 3);
    gpu.to(Device::CUDA);
    const Tensor x = slices(4, mc, 1), c = slices(4, mc, 2);
    const Tensor w_out = test::random_tensor({4, 1, mc.image_h, mc.image_w}, 5);
    std::vector<std::vector<float>> outs[2];
    for (int d = 0; d < 2; ++d) {
      ImUnity& m = d == 0 ? cpu : gpu;
      const Device dev = d == 0 ? Device::CPU : Device::CUDA;
      for (ParamGroup* g : {&m.generator, &m.discriminator, &m.site_head}) g->zero_grad();
      Code a = m.encode_anatomy(x.to(dev), nullptr);
      Code k = m.encode_contrast(c.to(dev), nullptr);
      Tensor out = m.decode(a.mu, k.mu, x.to(dev));
      Tensor disc = m.discriminate(out, true, true);
      Tensor site = m.site_logits(a.mu);
      outs[d] = {a.mu.to_vector(), a.logvar.to_vector(), k.mu.to_vector(), out.to_vector(), disc.to_vector(), site.to_vector()};
      autograd::backward(out, w_out.to(dev), true);
      autograd::backward(disc, test::random_tensor(disc.shape(), 6).to(dev), true);
      autograd::backward(site, test::random_tensor(site.shape(), 7).to(dev));
    }
    const char* names[] = {"anatomy mu", "anatomy logvar", "contrast mu", "output", "discriminator logits", "site logits"};
    for (int i = 0; i < 6; ++i) test::check_close(outs[1][i], outs[0][i], 1e-4, names[i]);
    check_gradients(cpu, gpu, 1e-4);
    for (size_t b = 0; b < cpu.buffers().size(); ++b)
      test::check_close(gpu.buffers()[b].second->to_vector(), cpu.buffers()[b].second->to_vector(), 1e-5,
                        "batch-norm buffer " + cpu.buffers()[b].first);
  }
}

TEST_CASE("parity: three Trainer steps (discriminator, site head, generator, Adam)") {
  const ModelConfig mc = small_config(false);
  ImUnity cpu(mc, Device::CPU, 4), gpu(mc, Device::CPU, 4);
  gpu.to(Device::CUDA);
  ParamGroup* gc[] = {&cpu.generator, &cpu.discriminator, &cpu.site_head};
  ParamGroup* gg[] = {&gpu.generator, &gpu.discriminator, &gpu.site_head};
  std::vector<std::vector<float>> start;
  for (ParamGroup* g : gc) start.push_back(g->params().to_vector());
  TrainConfig tc;
  tc.batch = 4;
  tc.lr = 1e-3f;
  Trainer tcpu(cpu, tc), tgpu(gpu, tc);
  TrainBatch bc;
  bc.s1 = slices(4, mc, 11);
  bc.s2 = slices(4, mc, 12);
  bc.site = Tensor::from_vector({0, 1, 2, 0}, {4});
  TrainBatch bg{bc.s1.to(Device::CUDA), bc.s2.to(Device::CUDA), bc.site.to(Device::CUDA), Tensor(), Tensor()};
  for (int step = 1; step <= 3; ++step) {
    const LossValues lc = read(tcpu.step(bc)), lg = read(tgpu.step(bg));
    INFO("step " << step);
    REQUIRE(lc.finite());
    REQUIRE(lg.finite());
    // Rounding differences grow through the updates: the bound widens with the step.
    const double tol = 1e-4 * step;
    const std::vector<float> want = {float(lc.discriminator), float(lc.site), float(lc.adversarial), float(lc.confusion),
                                     float(lc.l1), float(lc.kl), float(lc.ssim), float(lc.generator)};
    const std::vector<float> got = {float(lg.discriminator), float(lg.site), float(lg.adversarial), float(lg.confusion),
                                    float(lg.l1), float(lg.kl), float(lg.ssim), float(lg.generator)};
    for (size_t i = 0; i < want.size(); ++i)
      CHECK(got[i] == Approx(want[i]).epsilon(tol).margin(1e-6));
  }
  // The parameter updates agree in norm. Per element, Adam's first steps move each parameter by
  // about lr times the sign of its gradient, so a gradient within rounding of zero may step the
  // other way: at most one parameter in ten thousand may differ by more than lr. Layers whose
  // gradient is zero up to rounding (a conv bias before training-mode batch norm: Adam turns that
  // noise into full steps on either device) are left out.
  for (int k = 0; k < 3; ++k) {
    INFO(gc[k]->name());
    const double group = norm(gc[k]->grads().to_vector());
    std::vector<float> dc, dg;
    size_t flips = 0, noise_layers = 0;
    for (size_t e = 0; e < gc[k]->entries().size(); ++e) {
      const ParamGroup::Entry& ec = gc[k]->entries()[e];
      if (norm(ec.param.grad().to_vector()) < 1e-5 * group) {
        ++noise_layers;
        continue;
      }
      const std::vector<float> pc = ec.param.to_vector(), pg = gg[k]->entries()[e].param.to_vector();
      for (size_t i = 0; i < pc.size(); ++i) {
        const float s0 = start[k][static_cast<size_t>(ec.offset) + i];
        dc.push_back(pc[i] - s0);
        dg.push_back(pg[i] - s0);
        flips += std::fabs(pc[i] - pg[i]) > tc.lr;
      }
    }
    INFO(noise_layers << " layers with a rounding-noise gradient left out, " << flips << " of " << dc.size() << " parameters stepped apart");
    CHECK(norm(dc) > 0);
    CHECK(test::rel_error(dg, dc) < 2e-2);
    CHECK(flips <= dc.size() / 10000);
  }
  CHECK(tgpu.step_count() == 3);
}
