// The skeleton shared by the fused elementwise kernels (losses, gamma, reparameterize): the
// grid-stride pass in float4 steps with its scalar tail, and the deterministic two-pass sum (each
// block writes its partial sums, then one block sums the partials in a fixed order). No
// floating-point atomics, so a loss is bitwise reproducible run to run on a given GPU.
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

// The launch of a grid-stride pass over n floats taken four at a time: its blocks, and whether it may
// load float4 (n % 4 == 0 and every pointer given 16-byte aligned).
struct Pass4 {
  int blocks;
  bool vec;
};
template <class... P>
inline Pass4 pass4(int64_t n, P... pointers) {
  return {blocks_for((n + 3) / 4), n % 4 == 0 && aligned16(pointers...)};
}

// The grid-stride pass over n floats: vec4(i) for each whole float4 i when vec, then one(i) for
// each float left (all of [0, n) when !vec). Each thread visits fixed indices in a fixed order.
template <class Vec4, class One>
__device__ __forceinline__ void grid_stride4(int64_t n, bool vec, Vec4 vec4, One one) {
  const int64_t start = blockIdx.x * (int64_t)blockDim.x + threadIdx.x, stride = (int64_t)gridDim.x * blockDim.x;
  const int64_t n4 = vec ? n / 4 : 0;
  for (int64_t i = start; i < n4; i += stride) vec4(i);
  for (int64_t i = 4 * n4 + start; i < n; i += stride) one(i);
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

// The first pass of a two-pass sum: partials[blockIdx.x] = the block's sum of v (thread 0 writes it).
__device__ __forceinline__ void store_block_sum(float* partials, float v) {
  v = block_sum(v);
  if (threadIdx.x == 0) partials[blockIdx.x] = v;
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
