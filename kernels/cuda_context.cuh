// For .cu files only: checked-call macros naming the call, file and line, the after-launch check
// (synchronizing under IMUNITY_CUDA_SYNC=1), and the engine's one stream, cuBLAS and cuDNN handles
// and shared workspace.
#pragma once
#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <cudnn.h>

#include <cstddef>
#include <cstdint>
#include <string>

namespace im::cuda {

[[noreturn]] void fail(const char* library, const char* error, const char* call, const char* file, int line);
// After a kernel launch or library call: the launch error, and under IMUNITY_CUDA_SYNC=1 the
// error of the work itself (the stream is synchronized), both reported at this file and line.
void check_launch(const char* file, int line);

// The few cuBLAS entry points we call, opened on first use (kernels/cublas_loader.cu): not linked,
// so that CPU-only runs never pay for cuBLAS's start-up.
struct CublasApi {
  decltype(&::cublasCreate_v2) create = nullptr;
  decltype(&::cublasSetStream_v2) set_stream = nullptr;
  decltype(&::cublasSetMathMode) set_math_mode = nullptr;
  decltype(&::cublasSgemm_v2) sgemm = nullptr;
  decltype(&::cublasGetStatusString) status_string = nullptr;
  std::string file;  // what was opened
};
const CublasApi& cublas_api();

cudaStream_t stream();
cublasHandle_t cublas();
cudnnHandle_t cudnn();
// One workspace shared by cuDNN and our kernels; grows (with a synchronization) only when a larger
// size is first asked for, so steady-state steps never allocate.
void* workspace(size_t bytes);

// Grid size for a grid-stride loop over n elements.
inline unsigned grid_for(int64_t n, int threads = 256) {
  int64_t b = (n + threads - 1) / threads;
  const int64_t cap = 132 * 32;  // enough blocks to fill an H100 several times over
  return static_cast<unsigned>(b < 1 ? 1 : (b > cap ? cap : b));
}

}  // namespace im::cuda

#define IM_CUDA_CHECK(call)                                                                  \
  do {                                                                                       \
    cudaError_t im_err_ = (call);                                                            \
    if (im_err_ != cudaSuccess)                                                              \
      ::im::cuda::fail("CUDA", cudaGetErrorString(im_err_), #call, __FILE__, __LINE__);      \
  } while (0)

#define IM_CUBLAS_CHECK(call)                                                                \
  do {                                                                                       \
    cublasStatus_t im_st_ = (call);                                                          \
    if (im_st_ != CUBLAS_STATUS_SUCCESS)                                                     \
      ::im::cuda::fail("cuBLAS", ::im::cuda::cublas_api().status_string(im_st_), #call, __FILE__, __LINE__); \
  } while (0)

#define IM_CUDNN_CHECK(call)                                                                 \
  do {                                                                                       \
    cudnnStatus_t im_st_ = (call);                                                           \
    if (im_st_ != CUDNN_STATUS_SUCCESS)                                                      \
      ::im::cuda::fail("cuDNN", cudnnGetErrorString(im_st_), #call, __FILE__, __LINE__);     \
  } while (0)

// After a kernel launch (or a cuDNN/cuBLAS call): errors are reported at this site.
#define IM_CUDA_LAUNCH_CHECK() ::im::cuda::check_launch(__FILE__, __LINE__)
