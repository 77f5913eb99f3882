// Batch normalization over N and S per channel of x viewed as [N, C, S] (S = H*W, or 1 for
// [N, C]). Statistics are summed in double in a fixed order (CPU: per-row partials then rows in
// order; CUDA: fixed per-channel slices reduced in blocks, then the slices in order).
// gamma / beta may be null (1 / 0).
#pragma once
#include <cstdint>

namespace im {

// Normalizes with the batch statistics (biased variance); writes mean and invstd =
// 1/sqrt(var + eps) for the backward; when running_mean/var are not null updates them in place as
// PyTorch does: r = (1 - momentum) r + momentum * stat, with the unbiased variance.
void batchnorm_train_forward_cpu(float* y, float* mean, float* invstd, float* running_mean, float* running_var,
                                 const float* x, const float* gamma, const float* beta, int64_t N, int64_t C,
                                 int64_t S, float momentum, float eps);
void batchnorm_train_forward_cuda(float* y, float* mean, float* invstd, float* running_mean, float* running_var,
                                  const float* x, const float* gamma, const float* beta, int64_t N, int64_t C,
                                  int64_t S, float momentum, float eps);

// Normalizes with the running statistics; writes the mean and invstd it used.
void batchnorm_eval_forward_cpu(float* y, float* mean, float* invstd, const float* x, const float* gamma,
                                const float* beta, const float* running_mean, const float* running_var, int64_t N,
                                int64_t C, int64_t S, float eps);
void batchnorm_eval_forward_cuda(float* y, float* mean, float* invstd, const float* x, const float* gamma,
                                 const float* beta, const float* running_mean, const float* running_var, int64_t N,
                                 int64_t C, int64_t S, float eps);

// Accumulates dx, dgamma, dbeta (any may be null) from dy, given the mean and invstd of the
// forward. With training the statistics are functions of x and dx carries their gradient:
// dx = gamma invstd (dy - mean(dy) - xhat mean(dy xhat)); in eval dx = gamma invstd dy.
void batchnorm_backward_cpu(float* dx, float* dgamma, float* dbeta, const float* dy, const float* x, const float* gamma,
                            const float* mean, const float* invstd, int64_t N, int64_t C, int64_t S, bool training);
void batchnorm_backward_cuda(float* dx, float* dgamma, float* dbeta, const float* dy, const float* x,
                             const float* gamma, const float* mean, const float* invstd, int64_t N, int64_t C,
                             int64_t S, bool training);

}  // namespace im
