// Autograd wrappers of the fused ImUnity losses of engine/losses.h (kernels in kernels/kl,
// site_loss, bce, masked_l1 and ssim). Every loss is a [1] tensor on its inputs' device and its
// backward reads the incoming gradient on that device (no host synchronization).
#include <cmath>

#include "engine/autograd.h"
#include "engine/dispatch.h"
#include "engine/losses.h"
#include "engine/op_checks.h"
#include "kernels/bce.h"
#include "kernels/kl.h"
#include "kernels/masked_l1.h"
#include "kernels/site_loss.h"
#include "kernels/ssim.h"

namespace im {

namespace {
using opcheck::grad_or_null;

// Logits [N, S] with N, S >= 1.
void check_logits(const char* op, const Tensor& logits) {
  opcheck::input(op, "logits", logits);
  IM_CHECK(logits.ndim() == 2 && logits.size(0) > 0 && logits.size(1) > 0,
           op << ": logits must be [N, S] with N, S >= 1, got " << logits.shape().str());
}
}  // namespace

Tensor kl_divergence(const Tensor& mu, const Tensor& logvar) {
  opcheck::same("kl_divergence", "mu", mu, "logvar", logvar);
  IM_CHECK(mu.ndim() >= 1 && mu.size(0) > 0, "kl_divergence: needs a batch dimension, got " << mu.shape().str());
  const int64_t n = mu.numel(), batch = mu.size(0);
  Tensor loss = Tensor::empty({1}, mu.device());
  IM_DISPATCH(mu.device(), kl_forward_cpu, kl_forward_cuda, loss.data(), mu.data(), logvar.data(), n, batch);
  if (autograd::needs_grad({&mu, &logvar})) {
    autograd::record("kl_divergence", {loss}, [mu, logvar, loss, n, batch] {
      IM_DISPATCH(mu.device(), kl_backward_cpu, kl_backward_cuda, grad_or_null(mu), grad_or_null(logvar),
                  loss.grad().data(), mu.data(), logvar.data(), n, batch);
    });
  }
  return loss;
}

namespace {
// Shared by site_cross_entropy (labels defined) and confusion_loss (labels undefined).
Tensor site_loss(const char* op, const Tensor& logits, const Tensor& labels, float smoothing) {
  check_logits(op, logits);
  const int64_t N = logits.size(0), S = logits.size(1);
  const float* lab = nullptr;
  if (labels.defined()) {
    opcheck::input(op, "labels", labels);
    IM_CHECK(labels.numel() == N, op << ": " << N << " rows of logits but labels " << labels.shape().str());
    IM_CHECK(labels.device() == logits.device(), op << ": logits and labels are on different devices");
    IM_CHECK(smoothing >= 0.f && smoothing <= 1.f, op << ": label smoothing must be in [0, 1], got " << smoothing);
    lab = labels.data();
    if (labels.device() == Device::CPU) {
      // The GPU cannot say this without a synchronization; there a bad label makes the loss NaN.
      for (int64_t i = 0; i < N; ++i)
        IM_CHECK(lab[i] >= 0.f && lab[i] < static_cast<float>(S) && lab[i] == std::floor(lab[i]),
                 op << ": label " << lab[i] << " of row " << i << " is not a class index in [0, " << S << ")");
    }
  }
  Tensor loss = Tensor::empty({1}, logits.device());
  IM_DISPATCH(logits.device(), site_loss_forward_cpu, site_loss_forward_cuda, loss.data(), logits.data(), lab, N, S,
              smoothing);
  if (autograd::needs_grad({&logits})) {
    autograd::record(op, {loss}, [logits, labels, loss, N, S, smoothing] {
      IM_DISPATCH(logits.device(), site_loss_backward_cpu, site_loss_backward_cuda, logits.grad_accumulator(),
                  loss.grad().data(), logits.data(), labels.defined() ? labels.data() : nullptr, N, S, smoothing);
    });
  }
  return loss;
}
}  // namespace

Tensor site_cross_entropy(const Tensor& logits, const Tensor& labels, float smoothing) {
  IM_CHECK(labels.defined(), "site_cross_entropy: labels are undefined");
  return site_loss("site_cross_entropy", logits, labels, smoothing);
}

Tensor confusion_loss(const Tensor& logits) { return site_loss("confusion_loss", logits, Tensor(), 1.f); }

Tensor bce_with_logits(const Tensor& logits, const Tensor& targets) {
  opcheck::same("bce_with_logits", "logits", logits, "targets", targets);
  IM_CHECK(logits.numel() > 0, "bce_with_logits: empty input " << logits.shape().str());
  const int64_t n = logits.numel();
  Tensor loss = Tensor::empty({1}, logits.device());
  IM_DISPATCH(logits.device(), bce_forward_cpu, bce_forward_cuda, loss.data(), logits.data(), targets.data(), n);
  if (autograd::needs_grad({&logits, &targets})) {
    autograd::record("bce_with_logits", {loss}, [logits, targets, loss, n] {
      IM_DISPATCH(logits.device(), bce_backward_cpu, bce_backward_cuda, grad_or_null(logits), grad_or_null(targets),
                  loss.grad().data(), logits.data(), targets.data(), n);
    });
  }
  return loss;
}

Tensor masked_l1(const Tensor& a, const Tensor& b, const Tensor& mask) {
  opcheck::same("masked_l1", "a", a, "b", b);
  opcheck::same("masked_l1", "a", a, "mask", mask);
  const int64_t n = a.numel();
  Tensor loss = Tensor::empty({1}, a.device());
  Tensor inv_count = Tensor::empty({1}, a.device());
  IM_DISPATCH(a.device(), masked_l1_forward_cpu, masked_l1_forward_cuda, loss.data(), inv_count.data(), a.data(),
              b.data(), mask.data(), n);
  if (autograd::needs_grad({&a, &b})) {
    autograd::record("masked_l1", {loss}, [a, b, mask, loss, inv_count, n] {
      IM_DISPATCH(a.device(), masked_l1_backward_cpu, masked_l1_backward_cuda, grad_or_null(a), grad_or_null(b),
                  loss.grad().data(), inv_count.data(), a.data(), b.data(), mask.data(), n);
    });
  }
  return loss;
}

Tensor ssim_loss(const Tensor& a, const Tensor& b) {
  opcheck::same("ssim_loss", "a", a, "b", b);
  IM_CHECK(a.ndim() == 4 && a.size(1) == 1 && a.size(0) > 0,
           "ssim_loss: images must be [N, 1, H, W] with N >= 1, got " << a.shape().str());
  IM_CHECK(a.size(2) >= kSsimWindow && a.size(3) >= kSsimWindow,
           "ssim_loss: images must be at least " << kSsimWindow << "x" << kSsimWindow << " (the SSIM window), got "
                                                 << a.shape().str());
  const int64_t N = a.size(0);
  const int H = static_cast<int>(a.size(2)), W = static_cast<int>(a.size(3));
  Tensor loss = Tensor::empty({1}, a.device());
  IM_DISPATCH(a.device(), ssim_forward_cpu, ssim_forward_cuda, loss.data(), a.data(), b.data(), N, H, W);
  if (autograd::needs_grad({&a, &b})) {
    autograd::record("ssim_loss", {loss}, [a, b, loss, N, H, W] {
      IM_DISPATCH(a.device(), ssim_backward_cpu, ssim_backward_cuda, grad_or_null(a), grad_or_null(b),
                  loss.grad().data(), a.data(), b.data(), N, H, W);
    });
  }
  return loss;
}

}  // namespace im
