// CUDA sum reductions, deterministic: every sum is split into slices fixed by the shape, each slice
// summed in double by one warp, block or thread in a fixed order, and the slices added in order.
#include <cstdint>

#include "kernels/block_sum.cuh"
#include "kernels/cuda_context.cuh"
#include "kernels/reduce.h"

namespace im {

namespace {

constexpr int kThreads = 256;


// inner == 1, many rows: one warp per row.
__global__ void rows_by_warp(float* __restrict__ y, const float* __restrict__ x, int64_t outer, int64_t R, float scale) {
  const int64_t warps = (int64_t)gridDim.x * (blockDim.x / 32);
  const int lane = threadIdx.x & 31;
  for (int64_t o = blockIdx.x * (int64_t)(blockDim.x / 32) + (threadIdx.x >> 5); o < outer; o += warps) {
    const float* xr = x + o * R;
    double s = 0;
    for (int64_t r = lane; r < R; r += 32) s += xr[r];
    s = blocksum::warp_sum_down(s);
    if (lane == 0) y[o] = static_cast<float>(s * scale);
  }
}

// inner == 1, few rows: block (p, o) sums slice p of row o; with P == 1 it writes y directly.
__global__ void rows_by_block(float* __restrict__ y, double* __restrict__ partial, const float* __restrict__ x,
                              int64_t R, int64_t slice, int P, float scale) {
  const int64_t o = blockIdx.y, p = blockIdx.x;
  const int64_t r0 = p * slice, r1 = r0 + slice < R ? r0 + slice : R;
  const float* xr = x + o * R;
  double s = 0;
  for (int64_t r = r0 + threadIdx.x; r < r1; r += blockDim.x) s += xr[r];
  s = blocksum::block_sum_serial<kThreads>(s);
  if (threadIdx.x == 0) {
    if (P == 1)
      y[o] = static_cast<float>(s * scale);
    else
      partial[o * P + p] = s;
  }
}

// inner > 1: thread (o, p, i) sums slice p of column (o, i) over r; P == 1 writes y directly,
// else partial[(o * P + p) * inner + i].
__global__ void columns(float* __restrict__ y, double* __restrict__ partial, const float* __restrict__ x,
                        int64_t outer, int64_t R, int64_t inner, int64_t slice, int P, float scale) {
  const int64_t n = outer * P * inner;
  for (int64_t t = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; t < n; t += (int64_t)gridDim.x * blockDim.x) {
    const int64_t i = t % inner, op = t / inner;
    const int64_t p = op % P, o = op / P;
    const int64_t r0 = p * slice, r1 = r0 + slice < R ? r0 + slice : R;
    double s = 0;
    for (int64_t r = r0; r < r1; ++r) s += x[(o * R + r) * inner + i];
    if (P == 1)
      y[o * inner + i] = static_cast<float>(s * scale);
    else
      partial[t] = s;
  }
}

// y[o, i] = scale * sum_p partial[(o * P + p) * inner + i], in order of p.
__global__ void finish(float* __restrict__ y, const double* __restrict__ partial, int64_t outer, int64_t inner, int P,
                       float scale) {
  const int64_t n = outer * inner;
  for (int64_t t = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; t < n; t += (int64_t)gridDim.x * blockDim.x) {
    const int64_t i = t % inner, o = t / inner;
    double s = 0;
    for (int p = 0; p < P; ++p) s += partial[(o * P + p) * inner + i];
    y[t] = static_cast<float>(s * scale);
  }
}

template <typename I>
__global__ void broadcast_back(float* __restrict__ dx, const float* __restrict__ dy, int64_t outer, int64_t R,
                               int64_t inner, float scale) {
  const I n = static_cast<I>(outer * R * inner), Ri = static_cast<I>(R * inner), in = static_cast<I>(inner);
  for (I e = blockIdx.x * (I)blockDim.x + threadIdx.x; e < n; e += (I)gridDim.x * blockDim.x)
    dx[e] += scale * dy[(e / Ri) * in + e % in];
}

// Number of slices: at least `min_slice` elements each, at most `cap` in all over `units` sums.
int slices(int64_t R, int64_t min_slice, int64_t units, int64_t cap, int64_t* slice) {
  int64_t P = (R + min_slice - 1) / min_slice;
  const int64_t most = cap / units > 1 ? cap / units : 1;
  if (P > most) P = most;
  if (P < 1) P = 1;
  *slice = (R + P - 1) / P;
  if (*slice < 1) *slice = 1;
  P = (R + *slice - 1) / *slice;
  return static_cast<int>(P < 1 ? 1 : P);
}

}  // namespace

void reduce_sum_forward_cuda(float* y, const float* x, int64_t outer, int64_t R, int64_t inner, float scale) {
  if (outer * inner == 0) return;
  cudaStream_t st = cuda::stream();
  if (R == 0) {
    IM_CUDA_CHECK(cudaMemsetAsync(y, 0, static_cast<size_t>(outer * inner) * sizeof(float), st));
    return;
  }
  int64_t slice = 0;
  if (inner == 1 && outer >= 1024) {
    rows_by_warp<<<cuda::grid_for(outer * 32, kThreads), kThreads, 0, st>>>(y, x, outer, R, scale);
    IM_CUDA_LAUNCH_CHECK();
    return;
  }
  if (inner == 1) {  // outer < 1024 fits gridDim.y
    const int P = slices(R, 4096, outer, 2048, &slice);
    double* partial = P > 1 ? static_cast<double*>(cuda::workspace(static_cast<size_t>(outer * P) * sizeof(double))) : nullptr;
    rows_by_block<<<dim3(static_cast<unsigned>(P), static_cast<unsigned>(outer)), kThreads, 0, st>>>(y, partial, x, R,
                                                                                                      slice, P, scale);
    IM_CUDA_LAUNCH_CHECK();
    if (P > 1) {
      finish<<<cuda::grid_for(outer, kThreads), kThreads, 0, st>>>(y, partial, outer, 1, P, scale);
      IM_CUDA_LAUNCH_CHECK();
    }
    return;
  }
  // Columns: enough threads to fill the GPU, each summing at least 16 rows.
  const int P = slices(R, 16, outer * inner, 65536, &slice);
  double* partial =
      P > 1 ? static_cast<double*>(cuda::workspace(static_cast<size_t>(outer * P * inner) * sizeof(double))) : nullptr;
  columns<<<cuda::grid_for(outer * P * inner, kThreads), kThreads, 0, st>>>(y, partial, x, outer, R, inner, slice, P,
                                                                            scale);
  IM_CUDA_LAUNCH_CHECK();
  if (P > 1) {
    finish<<<cuda::grid_for(outer * inner, kThreads), kThreads, 0, st>>>(y, partial, outer, inner, P, scale);
    IM_CUDA_LAUNCH_CHECK();
  }
}

void reduce_sum_backward_cuda(float* dx, const float* dy, int64_t outer, int64_t R, int64_t inner, float scale) {
  const int64_t n = outer * R * inner;
  if (n == 0) return;
  if (n < (int64_t(1) << 31))
    broadcast_back<uint32_t><<<cuda::grid_for(n, kThreads), kThreads, 0, cuda::stream()>>>(dx, dy, outer, R, inner, scale);
  else
    broadcast_back<uint64_t><<<cuda::grid_for(n, kThreads), kThreads, 0, cuda::stream()>>>(dx, dy, outer, R, inner, scale);
  IM_CUDA_LAUNCH_CHECK();
}

}  // namespace im
