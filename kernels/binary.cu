// CUDA broadcast elementwise ops. The backward of a broadcast operand is a deterministic reduction:
// a fixed split of each element's sum into blocks, a block tree reduction in double, and a second
// pass that adds the block partials in order (no float atomics).
#include <cstdint>

#include "kernels/binary.h"
#include "kernels/block_sum.cuh"
#include "kernels/cuda_context.cuh"

namespace im {

namespace {

constexpr int kThreads = 256;

template <BinaryOp op>
__device__ __forceinline__ float apply(float x, float y) {
  if constexpr (op == BinaryOp::Add) return x + y;
  if constexpr (op == BinaryOp::Sub) return x - y;
  return x * y;
}

// Same shape, or one operand a single element (stride 0 everywhere): no index arithmetic.
template <BinaryOp op>
__global__ void forward_flat(float* __restrict__ y, const float* __restrict__ a, int64_t sa,
                             const float* __restrict__ b, int64_t sb, int64_t n) {
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x)
    y[i] = apply<op>(a[i * sa], b[i * sb]);
}

// General broadcast; I is uint32_t when the index space fits (cheaper divisions).
template <BinaryOp op, typename I>
__global__ void forward_bcast(float* __restrict__ y, const float* __restrict__ a, const float* __restrict__ b,
                              Broadcast bc) {
  const I n = static_cast<I>(bc.numel);
  for (I i = blockIdx.x * (I)blockDim.x + threadIdx.x; i < n; i += (I)gridDim.x * blockDim.x) {
    I oa, ob;
    bcast_offsets<I>(i, bc.nd, bc.dims, bc.sa, bc.sb, oa, ob);
    y[i] = apply<op>(a[oa], b[ob]);
  }
}

// ga has the output's shape: ga[i] += alpha * dy[i] * b[ob(i)].
template <typename I>
__global__ void backward_elementwise(float* __restrict__ ga, const float* __restrict__ dy,
                                     const float* __restrict__ b, Broadcast bc, float alpha) {
  const I n = static_cast<I>(bc.numel);
  for (I i = blockIdx.x * (I)blockDim.x + threadIdx.x; i < n; i += (I)gridDim.x * blockDim.x) {
    I oa, ob;
    bcast_offsets<I>(i, bc.nd, bc.dims, bc.sa, bc.sb, oa, ob);
    float g = dy[i];
    if (b) g *= b[ob];
    ga[oa] += alpha * g;
  }
}

template <typename I>
__device__ __forceinline__ double reduced_term(const float* __restrict__ dy, const float* __restrict__ b,
                                               const Broadcast& red, I r, I base_o, I base_b) {
  I oo, ob;
  bcast_offsets<I>(r, red.nd, red.dims, red.sa, red.sb, oo, ob);
  double v = dy[base_o + oo];
  if (b) v *= b[base_b + ob];
  return v;
}

// Few broadcast positions per element (or many elements): one thread per element of a, in order.
template <typename I>
__global__ void backward_reduce_serial(float* __restrict__ ga, const float* __restrict__ dy,
                                       const float* __restrict__ b, Broadcast kept, Broadcast red, float alpha) {
  const I G = static_cast<I>(kept.numel), R = static_cast<I>(red.numel);
  for (I j = blockIdx.x * (I)blockDim.x + threadIdx.x; j < G; j += (I)gridDim.x * blockDim.x) {
    I bo, bb;
    bcast_offsets<I>(j, kept.nd, kept.dims, kept.sa, kept.sb, bo, bb);
    double acc = 0;
    for (I r = 0; r < R; ++r) acc += reduced_term<I>(dy, b, red, r, bo, bb);
    ga[j] += alpha * static_cast<float>(acc);
  }
}


// Block (p, j) sums the p-th of P fixed slices of element j's broadcast positions. With P == 1 it
// adds straight into ga, otherwise it writes partial[j * P + p] for backward_finish.
template <typename I>
__global__ void backward_reduce_blocks(float* __restrict__ ga, double* __restrict__ partial,
                                       const float* __restrict__ dy, const float* __restrict__ b, Broadcast kept,
                                       Broadcast red, int64_t slice, int P, float alpha) {
  const I j = blockIdx.y, p = blockIdx.x;
  const I R = static_cast<I>(red.numel);
  const I r0 = p * static_cast<I>(slice);
  const I r1 = r0 + static_cast<I>(slice) < R ? r0 + static_cast<I>(slice) : R;
  I bo, bb;
  bcast_offsets<I>(j, kept.nd, kept.dims, kept.sa, kept.sb, bo, bb);
  double acc = 0;
  for (I r = r0 + threadIdx.x; r < r1; r += blockDim.x) acc += reduced_term<I>(dy, b, red, r, bo, bb);
  double s = blocksum::block_sum_serial<kThreads>(acc);
  if (threadIdx.x == 0) {
    if (P == 1)
      ga[j] += alpha * static_cast<float>(s);
    else
      partial[static_cast<int64_t>(j) * P + p] = s;
  }
}

__global__ void backward_finish(float* __restrict__ ga, const double* __restrict__ partial, int64_t G, int P,
                                float alpha) {
  for (int64_t j = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; j < G; j += (int64_t)gridDim.x * blockDim.x) {
    double s = 0;
    for (int p = 0; p < P; ++p) s += partial[j * P + p];
    ga[j] += alpha * static_cast<float>(s);
  }
}

// 32-bit indexing when a grid-stride index cannot wrap around.
bool fits32(int64_t n) { return n < (int64_t(1) << 31); }

template <BinaryOp op>
void launch_forward(float* y, const float* a, const float* b, const Broadcast& bc) {
  const int64_t n = bc.numel;
  const unsigned grid = cuda::grid_for(n, kThreads);
  cudaStream_t s = cuda::stream();
  // One dimension left after merging: every operand is either contiguous or a single element.
  if (bc.nd == 1) {
    forward_flat<op><<<grid, kThreads, 0, s>>>(y, a, bc.sa[0] ? 1 : 0, b, bc.sb[0] ? 1 : 0, n);
  } else if (fits32(n)) {
    forward_bcast<op, uint32_t><<<grid, kThreads, 0, s>>>(y, a, b, bc);
  } else {
    forward_bcast<op, uint64_t><<<grid, kThreads, 0, s>>>(y, a, b, bc);
  }
  IM_CUDA_LAUNCH_CHECK();
}

template <typename I>
void launch_backward(float* ga, const float* dy, const float* b, const Broadcast& bc, float alpha) {
  Broadcast kept, red;
  split_for_reduction(bc, &kept, &red);
  cudaStream_t s = cuda::stream();
  if (red.numel == 1) {
    backward_elementwise<I><<<cuda::grid_for(bc.numel, kThreads), kThreads, 0, s>>>(ga, dy, b, bc, alpha);
    IM_CUDA_LAUNCH_CHECK();
    return;
  }
  const int64_t G = kept.numel, R = red.numel;
  if (R <= 32 || G >= 8192) {
    backward_reduce_serial<I><<<cuda::grid_for(G, kThreads), kThreads, 0, s>>>(ga, dy, b, kept, red, alpha);
    IM_CUDA_LAUNCH_CHECK();
    return;
  }
  // G < 8192 fits gridDim.y. Slices of at least 4096 positions, and about 2048 blocks in all.
  int64_t P = (R + 4095) / 4096;
  int64_t cap = 2048 / G > 1 ? 2048 / G : 1;
  if (P > cap) P = cap;
  const int64_t slice = (R + P - 1) / P;
  P = (R + slice - 1) / slice;
  double* partial = P > 1 ? static_cast<double*>(cuda::workspace(static_cast<size_t>(G * P) * sizeof(double))) : nullptr;
  dim3 grid(static_cast<unsigned>(P), static_cast<unsigned>(G));
  backward_reduce_blocks<I><<<grid, kThreads, 0, s>>>(ga, partial, dy, b, kept, red, slice, static_cast<int>(P), alpha);
  IM_CUDA_LAUNCH_CHECK();
  if (P > 1) {
    backward_finish<<<cuda::grid_for(G, kThreads), kThreads, 0, s>>>(ga, partial, G, static_cast<int>(P), alpha);
    IM_CUDA_LAUNCH_CHECK();
  }
}

__global__ void affine_kernel(float* __restrict__ y, const float* __restrict__ x, int64_t n, float scale, float shift) {
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x)
    y[i] = scale * x[i] + shift;
}

}  // namespace

void binary_forward_cuda(float* y, const float* a, const float* b, const Broadcast& bc, BinaryOp op) {
  if (bc.numel == 0) return;
  switch (op) {
    case BinaryOp::Add: launch_forward<BinaryOp::Add>(y, a, b, bc); break;
    case BinaryOp::Sub: launch_forward<BinaryOp::Sub>(y, a, b, bc); break;
    case BinaryOp::Mul: launch_forward<BinaryOp::Mul>(y, a, b, bc); break;
  }
}

void binary_backward_cuda(float* ga, const float* dy, const float* b, const Broadcast& bc, float alpha) {
  if (bc.numel == 0) return;
  if (fits32(bc.numel))
    launch_backward<uint32_t>(ga, dy, b, bc, alpha);
  else
    launch_backward<uint64_t>(ga, dy, b, bc, alpha);
}

void affine_forward_cuda(float* y, const float* x, int64_t n, float scale, float shift) {
  if (n == 0) return;
  affine_kernel<<<cuda::grid_for(n, kThreads), kThreads, 0, cuda::stream()>>>(y, x, n, scale, shift);
  IM_CUDA_LAUNCH_CHECK();
}

}  // namespace im
