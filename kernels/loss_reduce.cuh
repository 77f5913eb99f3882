// Deterministic block reductions shared by the fused loss kernels: each block writes its partial
// sums, then one block sums the partials in a fixed order. No floating-point atomics, so a loss is
// bitwise reproducible run to run on a given GPU.
#pragma once
#include <cuda_runtime.h>

#include <cstdint>

#include "kernels/cuda_context.cuh"

namespace im::lossred {

constexpr int kThreads = 256;     // threads of every reduction block
constexpr int kMaxBlocks = 1024;  // partials per reduction (enough to fill an H100 several times)

// Blocks for a grid-stride pass over `work` items, one item per thread per step.
inline int blocks_for(int64_t work) {
  int64_t b = (work + kThreads - 1) / kThreads;
  return static_cast<int>(b < 1 ? 1 : (b > kMaxBlocks ? kMaxBlocks : b));
}

// True when every pointer given is 16-byte aligned (float4 loads allowed); null pointers pass.
inline bool aligned16(const void* p) { return (reinterpret_cast<uintptr_t>(p) & 15u) == 0; }
template <class... P>
inline bool aligned16(const void* p, P... rest) {
  return aligned16(p) && aligned16(rest...);
}

template <class T>
__device__ __forceinline__ T warp_sum(T v) {
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  return v;
}

// Sum of v over the block in a fixed order; the result is valid in thread 0. blockDim.x must be a
// multiple of 32. Safe to call several times in a row.
template <class T>
__device__ T block_sum(T v) {
  __shared__ T warp_part[32];
  v = warp_sum(v);
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = blockDim.x >> 5;
  __syncthreads();  // a previous call may still be reading warp_part
  if (lane == 0) warp_part[warp] = v;
  __syncthreads();
  T r = 0;
  if (warp == 0) r = warp_sum(lane < warps ? warp_part[lane] : T(0));
  return r;
}

// Sum of p[0..n) by one block, each thread taking a fixed strided share, in double; thread 0 has it.
__device__ __forceinline__ double sum_partials(const float* p, int n) {
  double s = 0;
  for (int i = threadIdx.x; i < n; i += blockDim.x) s += p[i];
  return block_sum(s);
}

// out[0] = bias + scale * sum(partials[0..n)): the final pass of a two-pass loss. (A template so
// that every .cu including this header gets its own copy without separable compilation.)
template <int kUnused = 0>
__global__ void finalize_sum_kernel(float* out, const float* partials, int n, double scale, double bias) {
  double s = sum_partials(partials, n);
  if (threadIdx.x == 0) out[0] = static_cast<float>(bias + scale * s);
}
inline void finalize_sum(float* out, const float* partials, int n, double scale, double bias) {
  finalize_sum_kernel<<<1, kThreads, 0, cuda::stream()>>>(out, partials, n, scale, bias);
  IM_CUDA_LAUNCH_CHECK();
}

// Partials live in the engine's shared workspace (stream-ordered, grown only on a first large use).
inline float* partials_buffer(int count) {
  return static_cast<float*>(cuda::workspace(static_cast<size_t>(count) * sizeof(float)));
}

}  // namespace im::lossred
