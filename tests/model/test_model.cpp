// The ImUnity networks: shapes, input-size errors, and the whole forward pass against an
// independent PyTorch implementation (tests/reference/torch_model.py); which codes the trainer's
// site head learns from (train.site_on_acquired), how often it learns per step (train.site_steps)
// and from what memory of past codes (train.site_replay).
#include <catch2/catch.hpp>

#include <cmath>

#include "engine/autograd.h"
#include "engine/losses.h"
#include "engine/ops.h"
#include "kernels/check.h"
#include "model/imunity.h"
#include "model/state.h"
#include "model/trainer.h"
#include "support/fixtures.h"
#include "support/gradcheck.h"

using namespace im;
using namespace im::model;

namespace {
// The longest chain of layers from input to loss: the anatomy encoder, the decoder with its output
// conv, and the discriminator (three conv + batch-norm blocks and its output conv).
double network_layers(const ModelConfig& mc) {
  return static_cast<double>(mc.encoder_widths.size() + mc.decoder_widths.size() + 1 + 4);
}

ModelConfig config_from_fixture(const nlohmann::json& c) {
  ModelConfig mc;
  mc.image_h = c["image_h"], mc.image_w = c["image_w"];
  mc.encoder_widths = c["encoder_widths"].get<std::vector<int>>();
  mc.anatomy_channels = c["anatomy_channels"], mc.contrast_channels = c["contrast_channels"];
  mc.contrast_dense_width = c["contrast_dense_width"], mc.contrast_pooled = c["contrast_pooled"];
  mc.decoder_widths = c["decoder_widths"].get<std::vector<int>>();
  mc.disc_width = c["disc_width"], mc.disc_leaky_alpha = c["disc_leaky_alpha"];
  mc.bn_momentum = c["bn_momentum"], mc.bn_eps = c["bn_eps"];
  mc.site_hidden = c["site_hidden"], mc.n_sites = c["n_sites"];
  mc.decoder_upsample = c.value("decoder_upsample", "transposed");
  mc.latent_stride = c.value("latent_stride", 16);
  mc.site_head_input = c.value("site_head_input", "flat");
  mc.anatomy_input = c.value("anatomy_input", "image");
  return mc;
}
}  // namespace

TEST_CASE("model: module shapes at the default 128x128 configuration") {
  ModelConfig mc;
  mc.n_sites = 3;
  ImUnity m(mc, Device::CPU, 1);
  NoGrad ng;
  Tensor x = test::random_tensor({2, 1, 128, 128}, 1, 0.f, 1.f);
  Generator g(3);
  Code a = m.encode_anatomy(x, &g);
  CHECK(a.mu.shape() == Shape{2, 64, 8, 8});
  CHECK(a.z.shape() == Shape{2, 64, 8, 8});
  Code c = m.encode_contrast(x, nullptr);
  CHECK(c.mu.shape() == Shape{2, 64, 8, 8});
  Tensor out = m.decode(a.z, c.z, x);
  CHECK(out.shape() == Shape{2, 1, 128, 128});
  CHECK(m.discriminate(out, false, false).shape() == Shape{2, 1, 16, 16});
  CHECK(m.site_logits(a.z).shape() == Shape{2, 3});
  for (float v : out.to_vector()) {
    CHECK(v >= 0.f);
    CHECK(v <= 1.f);
  }
}

TEST_CASE("model: anatomy_input rank: the anatomy code ignores a strictly increasing intensity change") {
  // A slice with background rows, on a grid of 1/4096 so that x^1.7 keeps every order and tie.
  std::vector<float> v = test::random_tensor({2, 1, 64, 64}, 4, 0.f, 1.f).to_vector(), g = v;
  for (size_t i = 0; i < v.size(); ++i) {
    v[i] = (i / 64) % 64 < 6 ? 0.f : std::floor(v[i] * 4000.f + 40.f) / 4096.f;
    g[i] = v[i] == 0.f ? 0.f : 0.1f + 0.85f * std::pow(v[i], 1.7f);
  }
  const Tensor x = Tensor::from_vector(v, {2, 1, 64, 64}), xg = Tensor::from_vector(g, {2, 1, 64, 64});
  auto moved = [&](const std::string& input) {
    ModelConfig mc;
    mc.image_h = mc.image_w = 64;
    mc.anatomy_input = input;
    ImUnity m(mc, Device::CPU, 1);
    NoGrad ng;
    const std::vector<float> a = m.encode_anatomy(x, nullptr).mu.to_vector(), b = m.encode_anatomy(xg, nullptr).mu.to_vector();
    double d = 0, n = 0;
    for (size_t i = 0; i < a.size(); ++i) d += std::abs(a[i] - b[i]), n += std::abs(a[i]);
    return d / n;
  };
  const double image = moved("image"), rank = moved("rank");
  INFO("relative change of the anatomy code: image input " << image << ", rank input " << rank);
  CHECK(rank == 0.0);
  CHECK(image > 0.05);
  ModelConfig bad;
  bad.anatomy_input = "ranks";
  CHECK_THROWS_WITH(bad.validate(), Catch::Contains("anatomy_input must be"));
}

TEST_CASE("model: latent_stride 8 gives a 16 x 16 anatomy code and a pooled contrast vector") {
  ModelConfig mc;
  mc.n_sites = 3;
  mc.latent_stride = 8;
  mc.contrast_pooled = true;
  mc.encoder_widths = {16, 32, 64, 128, 64};
  mc.anatomy_channels = 32;
  ImUnity m(mc, Device::CPU, 1);
  NoGrad ng;
  Tensor x = test::random_tensor({2, 1, 128, 128}, 1, 0.f, 1.f);
  Code a = m.encode_anatomy(x, nullptr);
  CHECK(a.mu.shape() == Shape{2, 32, 16, 16});
  Code c = m.encode_contrast(x, nullptr);
  CHECK(c.mu.shape() == Shape{2, 64, 1, 1});
  CHECK(m.decode(a.mu, c.mu, x).shape() == Shape{2, 1, 128, 128});
  CHECK(m.site_logits(a.mu).shape() == Shape{2, 3});

  // A contrast map must match the anatomy grid: only the pooled vector is allowed with stride 8.
  mc.contrast_pooled = false;
  CHECK_THROWS_WITH(mc.validate(), Catch::Contains("latent_stride 8 needs contrast_pooled"));
  mc.contrast_pooled = true;
  mc.latent_stride = 4;
  CHECK_THROWS_WITH(mc.validate(), Catch::Contains("latent_stride must be 16"));
}

TEST_CASE("model: input sides that are not multiples of 16 are refused with a clear message") {
  ModelConfig mc;
  mc.image_h = 120;
  try {
    ImUnity m(mc, Device::CPU, 1);
    FAIL("expected an error");
  } catch (const Error& e) {
    CHECK(std::string(e.what()).find("multiples of 16") != std::string::npos);
  }
}

TEST_CASE("model: the forward pass matches an independent PyTorch implementation") {
  for (const char* name : {"model", "model_pooled", "model_upsample", "model_latent8", "model_sitepooled", "model_rank"}) {
    INFO(name);
    nlohmann::json fx = test::load_fixture(name);
    ModelConfig mc = config_from_fixture(fx["config"]);
    ImUnity m(mc, Device::CPU, 1);
    int loaded = 0;
    for (const NamedTensor& nt : state_tensors(m, false)) {
      INFO(nt.name);
      REQUIRE(fx["weights"].contains(nt.name));
      Tensor src = test::fixture_tensor(fx["weights"][nt.name]);
      REQUIRE(src.shape() == nt.tensor.shape());
      Tensor(nt.tensor).copy_from(src);
      ++loaded;
    }
    CHECK(loaded == static_cast<int>(fx["weights"].size()));
    NoGrad ng;
    Tensor x = test::fixture_tensor(fx["input"]), c = test::fixture_tensor(fx["contrast_input"]);
    Code a = m.encode_anatomy(x, nullptr);
    Code k = m.encode_contrast(c, nullptr);
    Tensor out = m.decode(a.mu, k.mu, x);
    const nlohmann::json& o = fx["outputs"];
    // Against PyTorch in double, our float32 outputs carry the rounding of every layer on their path,
    // at most network_layers() of them. The longest sums are the batch-norm statistics of the
    // discriminator's first layer, over the batch at half resolution (convolutions sum <= 9 x 8 taps).
    const double tol = test::fp32_rtol(x.numel() / 4.0, network_layers(mc));
    auto near = [&](const Tensor& t, const char* key) {
      INFO(key);
      REQUIRE(t.numel() == static_cast<int64_t>(test::fixture_values(o[key]).size()));
      CHECK(test::rel_error(t.to_vector(), test::fixture_values(o[key])) < tol);
    };
    near(a.mu, "anatomy_mu");
    near(a.logvar, "anatomy_logvar");
    near(k.mu, "contrast_mu");
    near(k.logvar, "contrast_logvar");
    near(out, "output");
    near(m.site_logits(a.mu), "site_logits");
    near(m.discriminate(out, false, false), "disc_eval");
    near(m.discriminate(out, true, true), "disc_train");
    auto bufs = m.buffers();
    for (int i = 0; i < 3; ++i) {
      near(*bufs[2 * i].second, ("bn" + std::to_string(i) + "_running_mean_after").c_str());
      near(*bufs[2 * i + 1].second, ("bn" + std::to_string(i) + "_running_var_after").c_str());
    }
  }
}

TEST_CASE("model: the site head trained on a detached code sends no gradient to the encoders") {
  ModelConfig mc;
  mc.image_h = mc.image_w = 32;
  ImUnity m(mc, Device::CPU, 2);
  Tensor x = test::random_tensor({2, 1, 32, 32}, 4, 0.f, 1.f);
  Generator g(1);
  m.generator.zero_grad();
  m.site_head.zero_grad();
  Code a = m.encode_anatomy(x, &g);
  Tensor logits = m.site_logits(a.z.detach());
  autograd::backward(sum(logits));
  auto norm = [](const Tensor& t) {
    double s = 0;
    for (float v : t.to_vector()) s += static_cast<double>(v) * v;
    return s;
  };
  CHECK(norm(m.generator.grads()) == 0.0);
  CHECK(norm(m.site_head.grads()) > 0.0);

  // The confusion direction: a frozen head passes the gradient to the encoder and keeps none.
  m.generator.zero_grad();
  m.site_head.zero_grad();
  m.site_head.set_requires_grad(false);
  Code b = m.encode_anatomy(x, &g);
  autograd::backward(sum(m.site_logits(b.z)));
  m.site_head.set_requires_grad(true);
  CHECK(norm(m.site_head.grads()) == 0.0);
  CHECK(norm(m.generator.grads()) > 0.0);
}

// A batch of 4 random slice pairs of side x side for the trainer's tests: s1, s2 (and with
// `augmented` s1a, standing for S1 through the augmentation) drawn with seeds seed, seed + 1
// (seed + 2), sites 0, 1, 2, 1.
namespace {
TrainBatch small_batch(int64_t side, uint64_t seed, bool augmented) {
  TrainBatch b;
  b.s1 = test::random_tensor({4, 1, side, side}, seed, 0.f, 1.f);
  b.s2 = test::random_tensor({4, 1, side, side}, seed + 1, 0.f, 1.f);
  if (augmented) b.s1a = test::random_tensor({4, 1, side, side}, seed + 2, 0.f, 1.f);
  b.site = Tensor::from_vector({0, 1, 2, 1}, {4});
  return b;
}
}  // namespace

TEST_CASE("trainer: site_on_acquired trains the site head on the augmented and the acquired code") {
  ModelConfig mc;
  mc.image_h = mc.image_w = 32;
  mc.n_sites = 3;
  TrainConfig tc;
  tc.batch = 4;
  tc.latent_sampling = "mean";  // codes without noise, so that the expected loss can be recomputed
  const TrainBatch b = small_batch(32, 21, true);
  // The site head's loss of the first step, from the untouched model (the discriminator's update
  // before it changes neither the encoder nor the head).
  auto head_loss = [&](ImUnity& m, const Tensor& x) {
    NoGrad ng;
    return site_cross_entropy(m.site_logits(m.encode_anatomy(x, nullptr).z), b.site, tc.site_smoothing).item();
  };
  for (bool on : {false, true}) {
    ImUnity m(mc, Device::CPU, 5), same(mc, Device::CPU, 5);
    const double augmented = head_loss(same, b.s1a), acquired = head_loss(same, b.s1);
    REQUIRE(std::abs(augmented - acquired) > 1e-4);  // the two inputs give the head different losses
    tc.site_on_acquired = on;
    Trainer t(m, tc);
    const double got = t.step(b).site.item();
    INFO("site_on_acquired " << on << ": augmented code " << augmented << ", acquired " << acquired << ", step " << got);
    CHECK(got == Approx(on ? 0.5 * (augmented + acquired) : augmented).epsilon(1e-5));
  }
}

TEST_CASE("trainer: site_steps updates the site head several times on the step's codes") {
  ModelConfig mc;
  mc.image_h = mc.image_w = 32;
  mc.n_sites = 3;
  const TrainBatch b = small_batch(32, 31, false);
  auto moved = [&](int k, double* site_loss) {
    ImUnity m(mc, Device::CPU, 6);
    const std::vector<float> start = m.site_head.params().to_vector();
    TrainConfig tc;
    tc.batch = 4;
    tc.lr = 1e-3f;
    tc.site_steps = k;
    Trainer t(m, tc);
    *site_loss = t.step(b).site.item();
    const std::vector<float> end = m.site_head.params().to_vector();
    double d = 0;
    for (size_t i = 0; i < end.size(); ++i) d += (end[i] - start[i]) * static_cast<double>(end[i] - start[i]);
    return std::sqrt(d);
  };
  double l1 = 0, l3 = 0;
  const double d1 = moved(1, &l1), d3 = moved(3, &l3);
  INFO("site head moved " << d1 << " with one update, " << d3 << " with three");
  CHECK(l3 == l1);         // the reported loss is the one before the step's updates
  CHECK(d3 > 2.0 * d1);    // Adam's first updates each move a weight by about lr
}

TEST_CASE("trainer: site_replay lets the site head also learn from past steps' codes") {
  ModelConfig mc;
  mc.image_h = mc.image_w = 32;
  mc.n_sites = 3;
  auto batch = [](uint64_t seed) { return small_batch(32, seed, false); };
  // The site head after one and after two steps, with or without a memory, with 1 or 3 updates.
  auto heads = [&](int replay, int steps) {
    ImUnity m(mc, Device::CPU, 7);
    TrainConfig tc;
    tc.batch = 4;
    tc.lr = 1e-3f;
    tc.site_steps = steps;
    tc.site_replay = replay;
    Trainer t(m, tc);
    t.step(batch(41));
    const std::vector<float> first = m.site_head.params().to_vector();
    t.step(batch(51));
    return std::make_pair(first, m.site_head.params().to_vector());
  };
  const auto plain = heads(0, 3), memory = heads(4, 3);
  CHECK(plain.first == memory.first);     // the first step has nothing to remember yet
  CHECK(plain.second != memory.second);   // the second one's extra updates also see the first step's codes
  CHECK(heads(0, 1).second == heads(4, 1).second);  // one update per step uses the present codes only
  TrainConfig bad;
  bad.site_replay = -1;
  CHECK_THROWS_AS(bad.validate(), Error);
}

// Five training steps on b with the invariance term at `lambda` (mean codes, the augmentation
// on), from a model made with `seed`; returns `distance` of the trained model and puts the term the
// first step reported in *first_reported (-1 when it reported none).
template <class Distance>
double invariance_after_steps(const ModelConfig& mc, uint64_t seed, const TrainBatch& b, float lambda, bool pooled,
                              Distance distance, double* first_reported) {
  ImUnity m(mc, Device::CPU, seed);
  TrainConfig tc;
  tc.batch = 4;
  tc.lr = 1e-3f;
  tc.latent_sampling = "mean";
  tc.anatomy_augment = true;
  tc.lambda_invariance = lambda;
  tc.invariance_pooled = pooled;
  Trainer t(m, tc);
  for (int k = 0; k < 5; ++k) {
    StepLosses l = t.step(b);
    if (k == 0) *first_reported = l.invariance.defined() ? l.invariance.item() : -1.0;
  }
  return distance(m);
}

TEST_CASE("trainer: lambda_invariance pulls the anatomy code of the augmented slice to that of S1 as acquired") {
  ModelConfig mc;
  mc.image_h = mc.image_w = 32;
  mc.n_sites = 3;
  const TrainBatch b = small_batch(32, 61, true);
  // The relative squared distance of the two mean codes, in doubles from the codes' values.
  auto distance = [&](ImUnity& m) {
    NoGrad ng;
    const std::vector<float> a = m.encode_anatomy(b.s1a, nullptr).mu.to_vector();
    const std::vector<float> q = m.encode_anatomy(b.s1, nullptr).mu.to_vector();
    double d = 0, s = 0;
    for (size_t i = 0; i < a.size(); ++i) d += (a[i] - q[i]) * static_cast<double>(a[i] - q[i]), s += q[i] * static_cast<double>(q[i]);
    return d / s;
  };
  auto trained = [&](float lambda, double* first_reported) {
    return invariance_after_steps(mc, 8, b, lambda, false, distance, first_reported);
  };
  ImUnity start(mc, Device::CPU, 8);
  const double before = distance(start);
  double reported_off = 0, reported_on = 0;
  const double off = trained(0.f, &reported_off), on = trained(1000.f, &reported_on);
  INFO("relative code distance: before " << before << ", 5 steps without the term " << off << ", with it " << on);
  CHECK(reported_off == -1.0);                           // no term, nothing reported
  CHECK(reported_on == Approx(before).epsilon(1e-4));   // the term is the distance measured before the step
  CHECK(on < 0.5 * before);
  CHECK(on < 0.5 * off);
  TrainConfig bad;
  bad.lambda_invariance = -1.f;
  CHECK_THROWS_AS(bad.validate(), Error);
  bad.lambda_invariance = 1.f;  // the anatomy encoder sees S1 as acquired: nothing to be invariant to
  CHECK_THROWS_WITH(bad.validate(), Catch::Contains("anatomy_augment"));
  bad.anatomy_gamma = true;
  CHECK_NOTHROW(bad.validate());
}

TEST_CASE("trainer: anatomy_site_match is a probability and needs the augmentation it is part of") {
  TrainConfig tc;
  for (float bad : {-0.1f, 1.5f, std::nanf("")}) {
    tc.anatomy_site_match = bad;
    CHECK_THROWS_WITH(tc.validate(), Catch::Contains("anatomy_site_match"));
  }
  tc.anatomy_site_match = 0.5f;
  CHECK_THROWS_WITH(tc.validate(), Catch::Contains("anatomy_augment"));
  tc.anatomy_augment = true;
  CHECK_NOTHROW(tc.validate());
}

TEST_CASE("trainer: invariance_pooled compares the codes' 4 x 4 block means, each over its batch variance") {
  ModelConfig mc;
  mc.image_h = mc.image_w = 64;
  mc.latent_stride = 8;  // an 8 x 8 code: 4 x 4 blocks of 2 x 2
  mc.contrast_pooled = true;
  mc.n_sites = 3;
  const TrainBatch b = small_batch(64, 71, true);
  // Written out from the definition, in doubles: block means of both codes, each feature's squared
  // difference over the variance (ddof 0) of the acquired feature across the batch, averaged.
  auto distance = [&](ImUnity& m) {
    NoGrad ng;
    Tensor za = m.encode_anatomy(b.s1a, nullptr).mu, zq = m.encode_anatomy(b.s1, nullptr).mu;
    const int64_t n = za.size(0), c = za.size(1), h = za.size(2), w = za.size(3);
    REQUIRE(h == 8);
    const std::vector<float> a = za.to_vector(), q = zq.to_vector();
    auto block = [&](const std::vector<float>& v, int64_t i, int64_t ch, int64_t by, int64_t bx) {
      double s = 0;
      for (int64_t y = by * h / 4; y < (by + 1) * h / 4; ++y)
        for (int64_t x = bx * w / 4; x < (bx + 1) * w / 4; ++x) s += v[static_cast<size_t>(((i * c + ch) * h + y) * w + x)];
      return s / static_cast<double>(h * w / 16);
    };
    double total = 0;
    for (int64_t ch = 0; ch < c; ++ch)
      for (int64_t by = 0; by < 4; ++by)
        for (int64_t bx = 0; bx < 4; ++bx) {
          double s = 0, s2 = 0, d2 = 0;
          for (int64_t i = 0; i < n; ++i) {
            const double pq = block(q, i, ch, by, bx), pa = block(a, i, ch, by, bx);
            s += pq, s2 += pq * pq, d2 += (pa - pq) * (pa - pq);
          }
          const double var = s2 / static_cast<double>(n) - (s / static_cast<double>(n)) * (s / static_cast<double>(n));
          total += d2 / static_cast<double>(n) / (var + 1e-6);
        }
    return total / static_cast<double>(c * 16);
  };
  auto trained = [&](float lambda, double* first_reported) {
    return invariance_after_steps(mc, 9, b, lambda, true, distance, first_reported);
  };
  ImUnity start(mc, Device::CPU, 9);
  const double before = distance(start);
  double reported_small = 0, reported_large = 0;
  const double small = trained(1e-6f, &reported_small), large = trained(100.f, &reported_large);
  INFO("pooled distance: before " << before << ", 5 steps with weight 1e-6 " << small << ", with weight 100 " << large);
  CHECK(reported_small == Approx(before).epsilon(1e-3));  // the term is the distance measured before the step
  CHECK(large < 0.5 * before);
  CHECK(large < 0.5 * small);
}

TEST_CASE("model: parameter gradients through the whole network match PyTorch") {
  for (const char* name : {"model", "model_pooled", "model_upsample", "model_latent8", "model_sitepooled", "model_rank"}) {
    INFO(name);
    nlohmann::json fx = test::load_fixture(name);
    ModelConfig mc = config_from_fixture(fx["config"]);
    ImUnity m(mc, Device::CPU, 1);
    for (const NamedTensor& nt : state_tensors(m, false))
      Tensor(nt.tensor).copy_from(test::fixture_tensor(fx["weights"][nt.name]));
    m.generator.zero_grad();
    m.discriminator.zero_grad();
    m.site_head.zero_grad();
    Tensor x = test::fixture_tensor(fx["input"]), c = test::fixture_tensor(fx["contrast_input"]);
    Code a = m.encode_anatomy(x, nullptr);
    Code k = m.encode_contrast(c, nullptr);
    Tensor out = m.decode(a.mu, k.mu, x);
    Tensor d = m.discriminate(out, true, true);
    Tensor s = m.site_logits(a.mu);
    autograd::backward(out, test::fixture_tensor(fx["seeds"]["out"]), true);
    autograd::backward(d, test::fixture_tensor(fx["seeds"]["disc"]), true);
    autograd::backward(s, test::fixture_tensor(fx["seeds"]["site"]));
    // A gradient carries the rounding of every layer it comes back through (at most network_layers()),
    // and the longest sums are the weight gradients of full-resolution layers, over every pixel of
    // the batch.
    const double tol = test::fp32_rtol(static_cast<double>(x.numel()), network_layers(mc));
    int checked = 0, zero = 0;
    for (ParamGroup* g : {&m.generator, &m.discriminator, &m.site_head})
      for (const ParamGroup::Entry& e : g->entries()) {
        INFO(e.name);
        REQUIRE(fx["grads"].contains(e.name));
        std::vector<float> want = test::fixture_values(fx["grads"][e.name]), got = e.param.grad().to_vector();
        REQUIRE(got.size() == want.size());
        ++checked;
        if (!fx["pre_bn_grads"].contains(e.name)) {
          CHECK(test::rel_error(got, want) < tol);
          continue;
        }
        // A conv bias right before a training-mode batch norm: its gradient is exactly zero (the norm
        // takes the channel mean out), so only rounding noise remains. Channel j sums the n h w
        // gradients g at the conv's output (PyTorch gives their count and L2 norm): each is rounded,
        // and so is the channel mean the batch norm subtracts from all of them, together about
        // u sqrt(n h w) ||g_j|| (fp32_rtol). A wrong backward leaves a sum of the size of g itself.
        const nlohmann::json& pre = fx["pre_bn_grads"][e.name];
        const std::vector<float> norms = test::fixture_values(pre["norms"]);
        REQUIRE(norms.size() == got.size());
        for (size_t j = 0; j < got.size(); ++j) {
          INFO("channel " << j << ", ||g|| " << norms[j]);
          CHECK(std::fabs(want[j]) < 1e-12);
          CHECK(std::fabs(got[j]) < test::fp32_rtol(pre["terms"].get<double>()) * norms[j]);
        }
        ++zero;
      }
    CHECK(checked == static_cast<int>(fx["grads"].size()));
    CHECK(zero == static_cast<int>(fx["pre_bn_grads"].size()));
  }
}
