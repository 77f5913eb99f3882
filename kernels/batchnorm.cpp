// CPU twins of kernels/batchnorm.cu.
#include "kernels/batchnorm.h"

#include <cmath>
#include <cstddef>
#include <vector>

#include "kernels/ordered_sum.h"
#include "kernels/parallel.h"

namespace im {

namespace {

// Per-channel sums of f(row) over the N rows (n, c) of S elements: each row summed in parallel into
// its own slot (f returns the pair of row sums), then the rows of a channel in order of n.
template <typename F>
void channel_sums(int64_t N, int64_t C, int64_t S, std::vector<double>& s1, std::vector<double>& s2, F f) {
  const int64_t rows = N * C;
  std::vector<double> p1(static_cast<size_t>(rows)), p2(static_cast<size_t>(rows));
#pragma omp parallel for schedule(static) if (rows * S > kParallelGrain)
  for (int64_t r = 0; r < rows; ++r) f(r, r % C, &p1[r], &p2[r]);
  s1.assign(static_cast<size_t>(C), 0.0);
  s2.assign(static_cast<size_t>(C), 0.0);
  for (int64_t n = 0; n < N; ++n)
    for (int64_t c = 0; c < C; ++c) {
      s1[c] += p1[n * C + c];
      s2[c] += p2[n * C + c];
    }
}

void normalize(float* y, const float* x, const float* gamma, const float* beta, const float* mean,
               const float* invstd, int64_t N, int64_t C, int64_t S) {
  const int64_t rows = N * C;
#pragma omp parallel for schedule(static) if (rows * S > kParallelGrain)
  for (int64_t r = 0; r < rows; ++r) {
    const int64_t c = r % C;
    const float m = mean[c], scale = invstd[c] * (gamma ? gamma[c] : 1.f), shift = beta ? beta[c] : 0.f;
    const float* xr = x + r * S;
    float* yr = y + r * S;
#pragma omp simd
    for (int64_t s = 0; s < S; ++s) yr[s] = (xr[s] - m) * scale + shift;
  }
}

}  // namespace

void batchnorm_train_forward_cpu(float* y, float* mean, float* invstd, float* running_mean, float* running_var,
                                 const float* x, const float* gamma, const float* beta, int64_t N, int64_t C,
                                 int64_t S, float momentum, float eps) {
  std::vector<double> sum, sumsq;
  channel_sums(N, C, S, sum, sumsq, [&](int64_t r, int64_t, double* a, double* b) {
    const float* xr = x + r * S;
    *a = ordered_sum(S, [xr](int64_t i) { return static_cast<double>(xr[i]); });
    *b = ordered_sum(S, [xr](int64_t i) { return static_cast<double>(xr[i]) * xr[i]; });
  });
  const double M = static_cast<double>(N * S);
  for (int64_t c = 0; c < C; ++c) {
    double m = sum[c] / M;
    double var = sumsq[c] / M - m * m;
    if (var < 0) var = 0;
    mean[c] = static_cast<float>(m);
    invstd[c] = static_cast<float>(1.0 / std::sqrt(var + eps));
    if (running_mean) running_mean[c] = (1.f - momentum) * running_mean[c] + momentum * static_cast<float>(m);
    if (running_var)
      running_var[c] = (1.f - momentum) * running_var[c] + momentum * static_cast<float>(var * M / (M - 1));
  }
  normalize(y, x, gamma, beta, mean, invstd, N, C, S);
}

void batchnorm_eval_forward_cpu(float* y, float* mean, float* invstd, const float* x, const float* gamma,
                                const float* beta, const float* running_mean, const float* running_var, int64_t N,
                                int64_t C, int64_t S, float eps) {
  for (int64_t c = 0; c < C; ++c) {
    mean[c] = running_mean[c];
    invstd[c] = static_cast<float>(1.0 / std::sqrt(static_cast<double>(running_var[c]) + eps));
  }
  normalize(y, x, gamma, beta, mean, invstd, N, C, S);
}

void batchnorm_backward_cpu(float* dx, float* dgamma, float* dbeta, const float* dy, const float* x, const float* gamma,
                            const float* mean, const float* invstd, int64_t N, int64_t C, int64_t S, bool training) {
  const bool need_sums = dgamma || dbeta || (dx && training);
  std::vector<double> sdy, sdyx;
  if (need_sums) {
    channel_sums(N, C, S, sdy, sdyx, [&](int64_t r, int64_t c, double* a, double* b) {
      const float* xr = x + r * S;
      const float* dr = dy + r * S;
      const double m = mean[c], is = invstd[c];
      *a = ordered_sum(S, [dr](int64_t i) { return static_cast<double>(dr[i]); });
      *b = ordered_sum(S, [=](int64_t i) { return dr[i] * ((xr[i] - m) * is); });
    });
    for (int64_t c = 0; c < C; ++c) {
      if (dgamma) dgamma[c] += static_cast<float>(sdyx[c]);
      if (dbeta) dbeta[c] += static_cast<float>(sdy[c]);
    }
  }
  if (!dx) return;
  const double M = static_cast<double>(N * S);
  const int64_t rows = N * C;
#pragma omp parallel for schedule(static) if (rows * S > kParallelGrain)
  for (int64_t r = 0; r < rows; ++r) {
    const int64_t c = r % C;
    const float k = invstd[c] * (gamma ? gamma[c] : 1.f);
    const float m = mean[c], is = invstd[c];
    const float a = training ? static_cast<float>(sdy[c] / M) : 0.f;
    const float b = training ? static_cast<float>(sdyx[c] / M) : 0.f;
    const float* xr = x + r * S;
    const float* dr = dy + r * S;
    float* g = dx + r * S;
#pragma omp simd
    for (int64_t s = 0; s < S; ++s) g[s] += k * (dr[s] - a - (xr[s] - m) * is * b);
  }
}

}  // namespace im
