// The double-precision block sum of the reduction and broadcast-backward kernels (reduce.cu,
// binary.cu): a shfl_down tree in each warp, then thread 0 adds the warp sums in warp order.
#pragma once

namespace im::blocksum {

// Sum over the warp by halving shuffles; the full sum is valid in lane 0.
__device__ __forceinline__ double warp_sum_down(double v) {
  for (int off = 16; off > 0; off >>= 1) v += __shfl_down_sync(0xffffffffu, v, off);
  return v;
}

// Sum over a block of Threads threads (a multiple of 32); valid in thread 0. lossred::block_sum
// (loss_reduce.cuh) finishes with a second shuffle instead of this serial loop: a different order,
// so different bits, and these kernels keep the order their results were checked with.
template <int Threads>
__device__ __forceinline__ double block_sum_serial(double v) {
  __shared__ double warp_sums[Threads / 32];
  v = warp_sum_down(v);
  if ((threadIdx.x & 31) == 0) warp_sums[threadIdx.x >> 5] = v;
  __syncthreads();
  double s = 0;
  if (threadIdx.x == 0)
    for (int w = 0; w < Threads / 32; ++w) s += warp_sums[w];
  return s;
}

}  // namespace im::blocksum
