// Autograd wrapper of batch norm (kernels/batchnorm.*) for [N, C, H, W] and [N, C].
#include "engine/autograd.h"
#include "engine/dispatch.h"
#include "engine/ops.h"
#include "kernels/batchnorm.h"

namespace im {

namespace {
void check_channel_vector(const Tensor& t, const char* what, const Tensor& x) {
  if (!t.defined()) return;
  IM_CHECK(t.ndim() == 1 && t.size(0) == x.size(1),
           "batch_norm: " << what << " " << t.shape().str() << " for x " << x.shape().str() << " (want [C])");
  IM_CHECK(t.device() == x.device(), "batch_norm: " << what << " on another device than x");
  IM_CHECK(t.is_contiguous(), "batch_norm: " << what << " must be contiguous");
}
const float* ptr(const Tensor& t) { return t.defined() ? t.data() : nullptr; }
}  // namespace

Tensor batch_norm(const Tensor& x, const Tensor& gamma, const Tensor& beta, Tensor& running_mean, Tensor& running_var,
                  bool training, float momentum, float eps) {
  IM_CHECK(x.defined() && (x.ndim() == 2 || x.ndim() == 4),
           "batch_norm: x " << (x.defined() ? x.shape().str() : std::string("undefined")) << " (want [N, C, H, W] or [N, C])");
  IM_CHECK(x.is_contiguous(), "batch_norm: x must be contiguous");
  check_channel_vector(gamma, "gamma", x);
  check_channel_vector(beta, "beta", x);
  check_channel_vector(running_mean, "running_mean", x);
  check_channel_vector(running_var, "running_var", x);
  IM_CHECK(running_mean.defined() == running_var.defined(), "batch_norm: give both running statistics or neither");
  const int64_t N = x.size(0), C = x.size(1), S = x.shape().prod(2, x.ndim());
  const Device dev = x.device();
  Tensor y = Tensor::empty_like(x);
  Tensor mean = Tensor::empty({C}, dev), invstd = Tensor::empty({C}, dev);
  if (training) {
    IM_CHECK(N * S > 1, "batch_norm: training needs more than one value per channel, got x " << x.shape().str());
    IM_DISPATCH(dev, batchnorm_train_forward_cpu, batchnorm_train_forward_cuda, y.data(), mean.data(), invstd.data(),
                running_mean.defined() ? running_mean.data() : nullptr,
                running_var.defined() ? running_var.data() : nullptr, x.data(), ptr(gamma), ptr(beta), N, C, S,
                momentum, eps);
  } else {
    IM_CHECK(running_mean.defined(), "batch_norm: eval mode needs the running statistics");
    IM_DISPATCH(dev, batchnorm_eval_forward_cpu, batchnorm_eval_forward_cuda, y.data(), mean.data(), invstd.data(),
                x.data(), ptr(gamma), ptr(beta), running_mean.data(), running_var.data(), N, C, S, eps);
  }
  if (autograd::needs_grad({&x, &gamma, &beta})) {
    autograd::record("batch_norm", {y}, [x, gamma, beta, y, mean, invstd, training, N, C, S] {
      float* dx = x.requires_grad() ? x.grad_accumulator() : nullptr;
      float* dg = gamma.defined() && gamma.requires_grad() ? gamma.grad_accumulator() : nullptr;
      float* db = beta.defined() && beta.requires_grad() ? beta.grad_accumulator() : nullptr;
      IM_DISPATCH(y.device(), batchnorm_backward_cpu, batchnorm_backward_cuda, dx, dg, db, y.grad().data(), x.data(),
                  ptr(gamma), mean.data(), invstd.data(), N, C, S, training);
    });
  }
  return y;
}

}  // namespace im
