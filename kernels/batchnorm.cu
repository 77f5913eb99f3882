// CUDA batch norm. Per-channel sums without atomics: block (p, c) reduces the p-th fixed slice of
// channel c in double (per thread, then a tree within the block) into a partial; a second kernel
// adds a channel's partials in order. Same result for every run, whatever the scheduling.
#include <cstdint>

#include "kernels/batchnorm.h"
#include "kernels/check.h"
#include "kernels/cuda_context.cuh"

namespace im {

namespace {

constexpr int kThreads = 256;

// A channel's elements are e in [0, N*S): n = e / S, s = e % S, at (n * C + c) * S + s.
struct Layout {
  int64_t N, C, S;
  int64_t slice;  // elements per block slice
  int P;          // slices per channel
};

__device__ __forceinline__ void block_sum2(double& a, double& b) {
  __shared__ double sa[kThreads / 32], sb[kThreads / 32];
  for (int off = 16; off > 0; off >>= 1) {
    a += __shfl_down_sync(0xffffffffu, a, off);
    b += __shfl_down_sync(0xffffffffu, b, off);
  }
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  if (lane == 0) {
    sa[warp] = a;
    sb[warp] = b;
  }
  __syncthreads();
  if (threadIdx.x == 0) {
    a = 0;
    b = 0;
    for (int w = 0; w < kThreads / 32; ++w) {
      a += sa[w];
      b += sb[w];
    }
  }
}

// kStats: (sum x, sum x^2). Otherwise (sum dy, sum dy * xhat) with the forward's mean and invstd.
template <bool kStats, typename I>
__global__ void channel_partials(double2* __restrict__ partial, const float* __restrict__ x,
                                 const float* __restrict__ dy, const float* __restrict__ mean,
                                 const float* __restrict__ invstd, Layout L) {
  const I c = blockIdx.y, p = blockIdx.x;
  const I S = static_cast<I>(L.S), C = static_cast<I>(L.C), M = static_cast<I>(L.N * L.S);
  const I e0 = p * static_cast<I>(L.slice);
  const I e1 = e0 + static_cast<I>(L.slice) < M ? e0 + static_cast<I>(L.slice) : M;
  double m = 0, is = 0;
  if constexpr (!kStats) {
    m = mean[c];
    is = invstd[c];
  }
  double a = 0, b = 0;
  for (I e = e0 + threadIdx.x; e < e1; e += blockDim.x) {
    const I n = e / S;
    const I i = (n * C + c) * S + (e - n * S);
    const double v = x[i];
    if constexpr (kStats) {
      a += v;
      b += v * v;
    } else {
      const double g = dy[i];
      a += g;
      b += g * ((v - m) * is);
    }
  }
  block_sum2(a, b);
  if (threadIdx.x == 0) partial[static_cast<int64_t>(c) * L.P + p] = make_double2(a, b);
}

__global__ void finish_stats(float* __restrict__ mean, float* __restrict__ invstd, float* __restrict__ running_mean,
                             float* __restrict__ running_var, const double2* __restrict__ partial, Layout L,
                             float momentum, float eps) {
  const int64_t c = blockIdx.x * (int64_t)blockDim.x + threadIdx.x;
  if (c >= L.C) return;
  double s = 0, q = 0;
  for (int p = 0; p < L.P; ++p) {
    double2 v = partial[c * L.P + p];
    s += v.x;
    q += v.y;
  }
  const double M = static_cast<double>(L.N * L.S);
  const double m = s / M;
  double var = q / M - m * m;
  if (var < 0) var = 0;
  mean[c] = static_cast<float>(m);
  invstd[c] = static_cast<float>(1.0 / sqrt(var + static_cast<double>(eps)));
  if (running_mean) running_mean[c] = (1.f - momentum) * running_mean[c] + momentum * static_cast<float>(m);
  if (running_var)
    running_var[c] = (1.f - momentum) * running_var[c] + momentum * static_cast<float>(var * M / (M - 1));
}

__global__ void eval_stats(float* __restrict__ mean, float* __restrict__ invstd, const float* __restrict__ rm,
                           const float* __restrict__ rv, int64_t C, float eps) {
  const int64_t c = blockIdx.x * (int64_t)blockDim.x + threadIdx.x;
  if (c >= C) return;
  mean[c] = rm[c];
  invstd[c] = static_cast<float>(1.0 / sqrt(static_cast<double>(rv[c]) + static_cast<double>(eps)));
}

// coef[c] = (mean(dy), mean(dy * xhat)) for the dx kernel; also accumulates dgamma and dbeta.
__global__ void finish_grad_sums(float2* __restrict__ coef, float* __restrict__ dgamma, float* __restrict__ dbeta,
                                 const double2* __restrict__ partial, Layout L) {
  const int64_t c = blockIdx.x * (int64_t)blockDim.x + threadIdx.x;
  if (c >= L.C) return;
  double s = 0, q = 0;
  for (int p = 0; p < L.P; ++p) {
    double2 v = partial[c * L.P + p];
    s += v.x;
    q += v.y;
  }
  if (dgamma) dgamma[c] += static_cast<float>(q);
  if (dbeta) dbeta[c] += static_cast<float>(s);
  const double M = static_cast<double>(L.N * L.S);
  coef[c] = make_float2(static_cast<float>(s / M), static_cast<float>(q / M));
}

template <typename I>
__global__ void normalize(float* __restrict__ y, const float* __restrict__ x, const float* __restrict__ gamma,
                          const float* __restrict__ beta, const float* __restrict__ mean,
                          const float* __restrict__ invstd, Layout L) {
  const I n = static_cast<I>(L.N * L.C * L.S), S = static_cast<I>(L.S), C = static_cast<I>(L.C);
  for (I i = blockIdx.x * (I)blockDim.x + threadIdx.x; i < n; i += (I)gridDim.x * blockDim.x) {
    const I c = (i / S) % C;
    const float scale = invstd[c] * (gamma ? gamma[c] : 1.f);
    y[i] = (x[i] - mean[c]) * scale + (beta ? beta[c] : 0.f);
  }
}

// coef null: eval mode, dx = gamma invstd dy.
template <typename I>
__global__ void input_grad(float* __restrict__ dx, const float* __restrict__ dy, const float* __restrict__ x,
                           const float* __restrict__ gamma, const float* __restrict__ mean,
                           const float* __restrict__ invstd, const float2* __restrict__ coef, Layout L) {
  const I n = static_cast<I>(L.N * L.C * L.S), S = static_cast<I>(L.S), C = static_cast<I>(L.C);
  for (I i = blockIdx.x * (I)blockDim.x + threadIdx.x; i < n; i += (I)gridDim.x * blockDim.x) {
    const I c = (i / S) % C;
    const float is = invstd[c];
    const float k = is * (gamma ? gamma[c] : 1.f);
    float g = dy[i];
    if (coef) {
      const float2 q = coef[c];
      g = g - q.x - (x[i] - mean[c]) * is * q.y;
    }
    dx[i] += k * g;
  }
}

bool fits32(int64_t n) { return n < (int64_t(1) << 31); }

Layout make_layout(int64_t N, int64_t C, int64_t S) {
  IM_CHECK(C <= 65535, "batch_norm (CUDA): " << C << " channels exceed the grid's y dimension");
  Layout L{N, C, S, 0, 1};
  const int64_t M = N * S;
  // Slices of at least 4096 elements, and about 1024 blocks over all channels.
  int64_t P = (M + 4095) / 4096;
  const int64_t cap = 1024 / C > 1 ? 1024 / C : 1;
  if (P > cap) P = cap;
  if (P < 1) P = 1;
  L.slice = (M + P - 1) / P;
  if (L.slice < 1) L.slice = 1;
  L.P = static_cast<int>((M + L.slice - 1) / L.slice);
  if (L.P < 1) L.P = 1;
  return L;
}

// Launches channel_partials over grid (P, C); C is at most 65535 (gridDim.y).
template <bool kStats>
double2* launch_partials(const float* x, const float* dy, const float* mean, const float* invstd, const Layout& L,
                         size_t extra_bytes, void** extra) {
  const size_t pbytes = static_cast<size_t>(L.C) * L.P * sizeof(double2);
  char* ws = static_cast<char*>(cuda::workspace(pbytes + extra_bytes));
  double2* partial = reinterpret_cast<double2*>(ws);
  if (extra) *extra = ws + pbytes;
  dim3 grid(static_cast<unsigned>(L.P), static_cast<unsigned>(L.C));
  if (fits32(L.N * L.C * L.S))
    channel_partials<kStats, uint32_t><<<grid, kThreads, 0, cuda::stream()>>>(partial, x, dy, mean, invstd, L);
  else
    channel_partials<kStats, uint64_t><<<grid, kThreads, 0, cuda::stream()>>>(partial, x, dy, mean, invstd, L);
  IM_CUDA_LAUNCH_CHECK();
  return partial;
}

void launch_normalize(float* y, const float* x, const float* gamma, const float* beta, const float* mean,
                      const float* invstd, const Layout& L) {
  const int64_t n = L.N * L.C * L.S;
  if (fits32(n))
    normalize<uint32_t><<<cuda::grid_for(n, kThreads), kThreads, 0, cuda::stream()>>>(y, x, gamma, beta, mean, invstd, L);
  else
    normalize<uint64_t><<<cuda::grid_for(n, kThreads), kThreads, 0, cuda::stream()>>>(y, x, gamma, beta, mean, invstd, L);
  IM_CUDA_LAUNCH_CHECK();
}

unsigned channel_grid(int64_t C) { return static_cast<unsigned>((C + 127) / 128); }

}  // namespace

void batchnorm_train_forward_cuda(float* y, float* mean, float* invstd, float* running_mean, float* running_var,
                                  const float* x, const float* gamma, const float* beta, int64_t N, int64_t C,
                                  int64_t S, float momentum, float eps) {
  if (N * C * S == 0) return;
  const Layout L = make_layout(N, C, S);
  double2* partial = launch_partials<true>(x, nullptr, nullptr, nullptr, L, 0, nullptr);
  finish_stats<<<channel_grid(C), 128, 0, cuda::stream()>>>(mean, invstd, running_mean, running_var, partial, L,
                                                             momentum, eps);
  IM_CUDA_LAUNCH_CHECK();
  launch_normalize(y, x, gamma, beta, mean, invstd, L);
}

void batchnorm_eval_forward_cuda(float* y, float* mean, float* invstd, const float* x, const float* gamma,
                                 const float* beta, const float* running_mean, const float* running_var, int64_t N,
                                 int64_t C, int64_t S, float eps) {
  if (C == 0) return;
  eval_stats<<<channel_grid(C), 128, 0, cuda::stream()>>>(mean, invstd, running_mean, running_var, C, eps);
  IM_CUDA_LAUNCH_CHECK();
  if (N * S == 0) return;
  launch_normalize(y, x, gamma, beta, mean, invstd, make_layout(N, C, S));
}

void batchnorm_backward_cuda(float* dx, float* dgamma, float* dbeta, const float* dy, const float* x,
                             const float* gamma, const float* mean, const float* invstd, int64_t N, int64_t C,
                             int64_t S, bool training) {
  const int64_t n = N * C * S;
  if (n == 0) return;
  const Layout L = make_layout(N, C, S);
  float2* coef = nullptr;
  if (dgamma || dbeta || (dx && training)) {
    void* extra = nullptr;
    double2* partial =
        launch_partials<false>(x, dy, mean, invstd, L, static_cast<size_t>(C) * sizeof(float2), &extra);
    coef = static_cast<float2*>(extra);
    finish_grad_sums<<<channel_grid(C), 128, 0, cuda::stream()>>>(coef, dgamma, dbeta, partial, L);
    IM_CUDA_LAUNCH_CHECK();
  }
  if (!dx) return;
  const float2* c = training ? coef : nullptr;
  if (fits32(n))
    input_grad<uint32_t><<<cuda::grid_for(n, kThreads), kThreads, 0, cuda::stream()>>>(dx, dy, x, gamma, mean, invstd, c, L);
  else
    input_grad<uint64_t><<<cuda::grid_for(n, kThreads), kThreads, 0, cuda::stream()>>>(dx, dy, x, gamma, mean, invstd, c, L);
  IM_CUDA_LAUNCH_CHECK();
}

}  // namespace im
