// Shared-memory tiled SSIM kernels (templated on the tile side T, so that the benchmark can try
// several): the forward filters one T x T tile of valid windows per block; the backward produces
// one T x T tile of input gradients per block, recomputing the statistics and derivative maps of
// the (T + 10)^2 windows that touch it. Separable filtering throughout; the math is in
// kernels/ssim_math.h. For .cu files only.
#pragma once
#include <cuda_runtime.h>

#include <cstddef>
#include <cstdint>

#include "kernels/cuda_context.cuh"
#include "kernels/loss_reduce.cuh"
#include "kernels/ssim.h"
#include "kernels/ssim_math.h"

namespace im::ssim_tile {

constexpr int K = kSsimWindow;
constexpr int kThreads = 256;

template <int T>
struct Fwd {
  static constexpr int R = T + K - 1;  // input side loaded for T valid windows
  static constexpr size_t smem = sizeof(float) * (2 * R * R + 4 * R * T);
};
template <int T>
struct Bwd {
  static constexpr int P = T + K - 1;      // windows touching a T-side tile of pixels
  static constexpr int R = T + 2 * (K - 1);  // inputs those windows read
  static constexpr size_t smem = sizeof(float) * (2 * R * R + 4 * R * P + 4 * P * P);
};

// Loads the R x R input square at (oy, ox) of image `img` into sa, sb; zero outside the image.
__device__ __forceinline__ void load_square(float* sa, float* sb, const float* __restrict__ a,
                                            const float* __restrict__ b, size_t img, int H, int W, int oy, int ox,
                                            int R) {
  for (int k = threadIdx.x; k < R * R; k += blockDim.x) {
    const int r = k / R, c = k - r * R, y = oy + r, x = ox + c;
    const bool in = y >= 0 && y < H && x >= 0 && x < W;
    const size_t o = img + static_cast<size_t>(y) * W + x;
    sa[k] = in ? a[o] : 0.f;
    sb[k] = in ? b[o] : 0.f;
  }
}

// Horizontal filter of (a, b, a^2 + b^2, a b) over rows x cols outputs of the R-wide input square:
// h[k * rows * cols + r * cols + c] = sum_j g[j] f_k(s[r][c + j]).
__device__ __forceinline__ void horizontal_stats(float* h, const float* sa, const float* sb, int R, int rows,
                                                 int cols, const SsimWindow& win) {
  const int plane = rows * cols;
  for (int k = threadIdx.x; k < plane; k += blockDim.x) {
    const int r = k / cols, c = k - r * cols;
    const float* ra = sa + r * R + c;
    const float* rb = sb + r * R + c;
    float m1 = 0.f, m2 = 0.f, q = 0.f, xy = 0.f;
#pragma unroll
    for (int j = 0; j < K; ++j) {
      const float va = ra[j], vb = rb[j], g = win.g[j];
      m1 += g * va;
      m2 += g * vb;
      q += g * (va * va + vb * vb);
      xy += g * (va * vb);
    }
    h[k] = m1;
    h[plane + k] = m2;
    h[2 * plane + k] = q;
    h[3 * plane + k] = xy;
  }
}

// Vertical filter of the four planes (each `rows x cols`, row stride cols) at (r, c).
__device__ __forceinline__ void vertical4(const float* h, int rows, int cols, int r, int c, const SsimWindow& win,
                                          float s[4]) {
  const int plane = rows * cols;
#pragma unroll
  for (int k = 0; k < 4; ++k) {
    const float* col = h + k * plane + r * cols + c;
    float acc = 0.f;
#pragma unroll
    for (int i = 0; i < K; ++i) acc += win.g[i] * col[i * cols];
    s[k] = acc;
  }
}

// partials[block] = sum over this block's valid windows of (1 - SSIM).
template <int T>
__global__ void __launch_bounds__(kThreads) forward_kernel(float* __restrict__ partials, const float* __restrict__ a,
                                                           const float* __restrict__ b, int H, int W,
                                                           SsimWindow win) {
  extern __shared__ float smem[];
  constexpr int R = Fwd<T>::R;
  float* sa = smem;
  float* sb = sa + R * R;
  float* h = sb + R * R;  // 4 planes of R x T
  const int Hv = H - K + 1, Wv = W - K + 1;
  const int y0 = blockIdx.y * T, x0 = blockIdx.x * T;
  load_square(sa, sb, a, b, static_cast<size_t>(blockIdx.z) * H * W, H, W, y0, x0, R);
  __syncthreads();
  horizontal_stats(h, sa, sb, R, R, T, win);
  __syncthreads();
  float local = 0.f;
  for (int k = threadIdx.x; k < T * T; k += blockDim.x) {
    const int r = k / T, c = k - r * T;
    if (y0 + r < Hv && x0 + c < Wv) {
      float s[4];
      vertical4(h, R, T, r, c, win, s);
      local += 1.f - ssim_math::ssim_value(s[0], s[1], s[2], s[3]);
    }
  }
  local = lossred::block_sum(local);
  if (threadIdx.x == 0) partials[(blockIdx.z * gridDim.y + blockIdx.y) * gridDim.x + blockIdx.x] = local;
}

// da, db (either may be null) += the gradient of loss = mean(1 - SSIM) scaled by dloss[0].
template <int T>
__global__ void __launch_bounds__(kThreads) backward_kernel(float* __restrict__ da, float* __restrict__ db,
                                                            const float* __restrict__ dloss,
                                                            const float* __restrict__ a, const float* __restrict__ b,
                                                            int H, int W, float inv_windows, SsimWindow win) {
  extern __shared__ float smem[];
  constexpr int P = Bwd<T>::P, R = Bwd<T>::R;
  float* sa = smem;
  float* sb = sa + R * R;
  float* h = sb + R * R;   // 4 planes of R x P; later 4 planes of P x T (transposed pass)
  float* d = h + 4 * R * P;  // 4 planes of P x P: w * dSSIM/d(statistic) per window, 0 if not valid
  const int Hv = H - K + 1, Wv = W - K + 1;
  const int q0y = blockIdx.y * T, q0x = blockIdx.x * T;
  const int oy = q0y - (K - 1), ox = q0x - (K - 1);  // first window (and input) touching the tile
  const size_t img = static_cast<size_t>(blockIdx.z) * H * W;
  const float w = -dloss[0] * inv_windows;
  load_square(sa, sb, a, b, img, H, W, oy, ox, R);
  __syncthreads();
  horizontal_stats(h, sa, sb, R, R, P, win);
  __syncthreads();
  for (int k = threadIdx.x; k < P * P; k += blockDim.x) {
    const int r = k / P, c = k - r * P, py = oy + r, px = ox + c;
    float g[4] = {0.f, 0.f, 0.f, 0.f};
    if (py >= 0 && py < Hv && px >= 0 && px < Wv) {
      float s[4];
      vertical4(h, R, P, r, c, win, s);
      ssim_math::ssim_grad(s[0], s[1], s[2], s[3], w, g);
    }
#pragma unroll
    for (int m = 0; m < 4; ++m) d[m * P * P + k] = g[m];
  }
  __syncthreads();
  // Transposed filter, horizontal: th[m][r][x] = sum_j g[j] d[m][r][x + j] (G is symmetric).
  float* th = h;
  for (int k = threadIdx.x; k < P * T; k += blockDim.x) {
    const int r = k / T, c = k - r * T;
#pragma unroll
    for (int m = 0; m < 4; ++m) {
      const float* row = d + m * P * P + r * P + c;
      float acc = 0.f;
#pragma unroll
      for (int j = 0; j < K; ++j) acc += win.g[j] * row[j];
      th[m * P * T + k] = acc;
    }
  }
  __syncthreads();
  for (int k = threadIdx.x; k < T * T; k += blockDim.x) {
    const int y = k / T, x = k - y * T, qy = q0y + y, qx = q0x + x;
    if (qy >= H || qx >= W) continue;
    float o[4];
    vertical4(th, P, T, y, x, win, o);
    const int sk = (y + K - 1) * R + (x + K - 1);
    const float va = sa[sk], vb = sb[sk];
    const size_t q = img + static_cast<size_t>(qy) * W + qx;
    if (da) da[q] += o[0] + 2.f * va * o[2] + vb * o[3];
    if (db) db[q] += o[1] + 2.f * vb * o[2] + va * o[3];
  }
}

// Allows a kernel more than the default 48 KB of dynamic shared memory (once per kernel).
template <class Kernel>
void allow_smem(Kernel kernel, size_t bytes, bool& done) {
  if (done || bytes <= 48 * 1024) return;
  IM_CUDA_CHECK(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, static_cast<int>(bytes)));
  done = true;
}

inline unsigned tiles(int n, int T) { return static_cast<unsigned>((n + T - 1) / T); }

// Writes one partial per block into `partials` and returns how many (the caller sums them).
template <int T>
int launch_forward(float* partials, const float* a, const float* b, int64_t N, int H, int W, const SsimWindow& win) {
  static bool smem_set = false;
  allow_smem(forward_kernel<T>, Fwd<T>::smem, smem_set);
  const dim3 grid(tiles(W - K + 1, T), tiles(H - K + 1, T), static_cast<unsigned>(N));
  forward_kernel<T><<<grid, kThreads, Fwd<T>::smem, cuda::stream()>>>(partials, a, b, H, W, win);
  IM_CUDA_LAUNCH_CHECK();
  return static_cast<int>(grid.x * grid.y * grid.z);
}

template <int T>
int forward_blocks(int64_t N, int H, int W) {
  return static_cast<int>(tiles(W - K + 1, T) * tiles(H - K + 1, T) * N);
}

template <int T>
void launch_backward(float* da, float* db, const float* dloss, const float* a, const float* b, int64_t N, int H,
                     int W, const SsimWindow& win) {
  static bool smem_set = false;
  allow_smem(backward_kernel<T>, Bwd<T>::smem, smem_set);
  const dim3 grid(tiles(W, T), tiles(H, T), static_cast<unsigned>(N));
  const float inv_windows = static_cast<float>(1.0 / (static_cast<double>(N) * (H - K + 1) * (W - K + 1)));
  backward_kernel<T><<<grid, kThreads, Bwd<T>::smem, cuda::stream()>>>(da, db, dloss, a, b, H, W, inv_windows, win);
  IM_CUDA_LAUNCH_CHECK();
}

}  // namespace im::ssim_tile
