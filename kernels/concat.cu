// CUDA block copies: cudaMemcpy2DAsync for plain copies, a 2D grid-stride kernel to accumulate.
#include "kernels/concat.h"
#include "kernels/cuda_context.cuh"

namespace im {

namespace {
__global__ void block_accumulate(float* __restrict__ dst, int64_t dst_cols, const float* __restrict__ src,
                                 int64_t src_cols, int64_t rows, int64_t cols) {
  for (int64_t r = blockIdx.y; r < rows; r += gridDim.y)
    for (int64_t j = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; j < cols; j += (int64_t)gridDim.x * blockDim.x)
      dst[r * dst_cols + j] += src[r * src_cols + j];
}
}  // namespace

void block_copy_cuda(float* dst, int64_t dst_cols, int64_t dst_off, const float* src, int64_t src_cols,
                     int64_t src_off, int64_t rows, int64_t cols, bool accumulate) {
  if (rows == 0 || cols == 0) return;
  if (!accumulate && (rows == 1 || (cols == dst_cols && cols == src_cols))) {  // one contiguous run
    IM_CUDA_CHECK(cudaMemcpyAsync(dst + dst_off, src + src_off, static_cast<size_t>(rows * cols) * sizeof(float),
                                  cudaMemcpyDeviceToDevice, cuda::stream()));
    return;
  }
  if (!accumulate) {
    IM_CUDA_CHECK(cudaMemcpy2DAsync(dst + dst_off, static_cast<size_t>(dst_cols) * sizeof(float), src + src_off,
                                    static_cast<size_t>(src_cols) * sizeof(float), static_cast<size_t>(cols) * sizeof(float),
                                    static_cast<size_t>(rows), cudaMemcpyDeviceToDevice, cuda::stream()));
    return;
  }
  const int64_t gy = rows < 65535 ? rows : 65535;
  int64_t gx = (cols + 255) / 256;
  const int64_t cap = (132 * 32 + gy - 1) / gy;  // about as many blocks as grid_for allows
  if (gx > cap) gx = cap;
  if (gx < 1) gx = 1;
  dim3 grid(static_cast<unsigned>(gx), static_cast<unsigned>(gy));
  block_accumulate<<<grid, 256, 0, cuda::stream()>>>(dst + dst_off, dst_cols, src + src_off, src_cols, rows, cols);
  IM_CUDA_LAUNCH_CHECK();
}

}  // namespace im
