// CUDA dense layer: cublasSgemm on the engine's handle (its math mode decides TF32), bias and
// bias gradient in small deterministic kernels.
//
// Layout: cuBLAS is column-major, our matrices are row-major. A row-major R x C matrix in memory is
// the column-major C x R matrix, i.e. its transpose, with leading dimension C. So with
// Xc = x^T (in x N, ld in), Wc = w^T (in x out, ld in), Yc = y^T (out x N, ld out):
//   y  = x w^T   <=>  Yc  = y^T  = w x^T   = Wc^T Xc   : gemm(T, N, m=out, n=N,   k=in,  A=Wc, B=Xc)
//   dx = dy w    <=>  dXc = dx^T = w^T dy^T = Wc dYc   : gemm(N, N, m=in,  n=N,   k=out, A=Wc, B=dYc)
//   dw = dy^T x  <=>  dWc = dw^T = x^T dy  = Xc dYc^T  : gemm(N, T, m=in,  n=out, k=N,   A=Xc, B=dYc)
// The backward products accumulate (beta = 1).
#include "kernels/check.h"
#include "kernels/cuda_context.cuh"
#include "kernels/linear.h"

namespace im {

namespace {

__global__ void broadcast_bias(float* __restrict__ y, const float* __restrict__ bias, int64_t N, int64_t out) {
  const int64_t n = N * out;
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x)
    y[i] = bias[i % out];
}

// db[o] += sum_n dy[n, o]: a 32 x 8 block covers 32 columns; each row of threads walks the rows
// with stride 8, then the 8 partial sums of a column are added in a fixed order.
__global__ void bias_grad(float* __restrict__ db, const float* __restrict__ dy, int64_t N, int64_t out) {
  __shared__ float part[8][33];
  const int64_t o = blockIdx.x * 32 + threadIdx.x;
  float s = 0.f;
  if (o < out)
    for (int64_t n = threadIdx.y; n < N; n += 8) s += dy[n * out + o];
  part[threadIdx.y][threadIdx.x] = s;
  __syncthreads();
  if (threadIdx.y == 0 && o < out) {
    float t = 0.f;
    for (int r = 0; r < 8; ++r) t += part[r][threadIdx.x];
    db[o] += t;
  }
}

int as_int(int64_t v, const char* what) {
  IM_CHECK(v <= 0x7fffffff, "linear (CUDA): " << what << " = " << v << " exceeds cuBLAS's int range");
  return static_cast<int>(v);
}

}  // namespace

void linear_forward_cuda(float* y, const float* x, const float* w, const float* bias, int64_t N, int64_t in,
                         int64_t out) {
  if (N == 0 || out == 0) return;
  const int n = as_int(N, "N"), k = as_int(in, "in"), m = as_int(out, "out");
  if (in == 0 && !bias) {  // an empty product (cuBLAS rejects ld = 0)
    IM_CUDA_CHECK(cudaMemsetAsync(y, 0, static_cast<size_t>(N * out) * sizeof(float), cuda::stream()));
    return;
  }
  float beta = 0.f;
  if (bias) {
    broadcast_bias<<<cuda::grid_for(N * out), 256, 0, cuda::stream()>>>(y, bias, N, out);
    IM_CUDA_LAUNCH_CHECK();
    beta = 1.f;
    if (in == 0) return;
  }
  const float alpha = 1.f;
  IM_CUBLAS_CHECK(cuda::cublas_api().sgemm(cuda::cublas(), CUBLAS_OP_T, CUBLAS_OP_N, m, n, k, &alpha, w, k, x, k, &beta, y, m));
  IM_CUDA_LAUNCH_CHECK();
}

void linear_backward_cuda(float* dx, float* dw, float* db, const float* dy, const float* x, const float* w, int64_t N,
                          int64_t in, int64_t out) {
  if (N == 0) return;
  const int n = as_int(N, "N"), k = as_int(in, "in"), m = as_int(out, "out");
  const float one = 1.f;
  if (dx && in > 0 && out > 0) {
    IM_CUBLAS_CHECK(cuda::cublas_api().sgemm(cuda::cublas(), CUBLAS_OP_N, CUBLAS_OP_N, k, n, m, &one, w, k, dy, m, &one, dx, k));
    IM_CUDA_LAUNCH_CHECK();
  }
  if (dw && in > 0 && out > 0) {
    IM_CUBLAS_CHECK(cuda::cublas_api().sgemm(cuda::cublas(), CUBLAS_OP_N, CUBLAS_OP_T, k, m, n, &one, x, k, dy, m, &one, dw, k));
    IM_CUDA_LAUNCH_CHECK();
  }
  if (db && out > 0) {
    dim3 block(32, 8);
    bias_grad<<<static_cast<unsigned>((out + 31) / 32), block, 0, cuda::stream()>>>(db, dy, N, out);
    IM_CUDA_LAUNCH_CHECK();
  }
}

}  // namespace im
