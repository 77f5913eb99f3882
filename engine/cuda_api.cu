// The CUDA runtime side of the engine: device probe, raw memory, copies, the stream and library
// handles, the shared workspace and the TF32 switch.
#include <cstdio>
#include <mutex>
#include <string>

#include "engine/check.h"
#include "engine/cuda_api.h"
#include "engine/cuda_context.cuh"

namespace im::cuda {

void fail(const char* library, const char* error, const char* call, const char* file, int line) {
  std::string f(file);
  if (auto p = f.rfind('/'); p != std::string::npos) f = f.substr(p + 1);
  throw Error(std::string(library) + " call failed: " + call + ": " + error + " (" + f + ":" +
              std::to_string(line) + ")");
}

bool probe(std::string* reason) {
  int n = 0;
  cudaError_t e = cudaGetDeviceCount(&n);
  if (e != cudaSuccess) {
    if (reason) *reason = std::string("CUDA runtime: ") + cudaGetErrorString(e);
    cudaGetLastError();  // clear the sticky error so later probes start clean
    return false;
  }
  if (n == 0) {
    if (reason) *reason = "no CUDA device found";
    return false;
  }
  return true;
}

namespace {
struct Context {
  cudaStream_t stream = nullptr;
  cublasHandle_t cublas = nullptr;
  cudnnHandle_t cudnn = nullptr;
  void* workspace = nullptr;
  size_t workspace_bytes = 0;
  bool tf32 = false;
};
Context& ctx() {
  static Context c = [] {
    Context k;
    IM_CUDA_CHECK(cudaStreamCreateWithFlags(&k.stream, cudaStreamNonBlocking));
    IM_CUBLAS_CHECK(cublasCreate(&k.cublas));
    IM_CUBLAS_CHECK(cublasSetStream(k.cublas, k.stream));
    IM_CUBLAS_CHECK(cublasSetMathMode(k.cublas, CUBLAS_DEFAULT_MATH));
    IM_CUDNN_CHECK(cudnnCreate(&k.cudnn));
    IM_CUDNN_CHECK(cudnnSetStream(k.cudnn, k.stream));
    return k;
  }();
  return c;
}
}  // namespace

cudaStream_t stream() { return ctx().stream; }
cublasHandle_t cublas() { return ctx().cublas; }
cudnnHandle_t cudnn() { return ctx().cudnn; }

void* workspace(size_t bytes) {
  Context& c = ctx();
  if (bytes > c.workspace_bytes) {
    if (c.workspace) {
      IM_CUDA_CHECK(cudaStreamSynchronize(c.stream));
      IM_CUDA_CHECK(cudaFree(c.workspace));
    }
    size_t want = bytes + bytes / 4;
    IM_CUDA_CHECK(cudaMalloc(&c.workspace, want));
    c.workspace_bytes = want;
  }
  return c.workspace;
}

void* raw_malloc(size_t bytes) {
  void* p = nullptr;
  IM_CUDA_CHECK(cudaMalloc(&p, bytes));
  return p;
}
void raw_free(void* p) {
  if (p) cudaFree(p);  // not checked: called from destructors, possibly at process exit
}
void copy_h2d(void* dst, const void* src, size_t bytes) {
  IM_CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyHostToDevice, stream()));
  IM_CUDA_CHECK(cudaStreamSynchronize(stream()));  // the host buffer may be freed right after
}
void copy_d2h(void* dst, const void* src, size_t bytes) {
  IM_CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToHost, stream()));
  IM_CUDA_CHECK(cudaStreamSynchronize(stream()));
}
void copy_d2d(void* dst, const void* src, size_t bytes) {
  IM_CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice, stream()));
}
void memset_zero(void* dst, size_t bytes) { IM_CUDA_CHECK(cudaMemsetAsync(dst, 0, bytes, stream())); }
void synchronize() { IM_CUDA_CHECK(cudaStreamSynchronize(stream())); }

void set_tf32(bool on) {
  ctx().tf32 = on;
  IM_CUBLAS_CHECK(cublasSetMathMode(cublas(), on ? CUBLAS_TF32_TENSOR_OP_MATH : CUBLAS_DEFAULT_MATH));
}
bool tf32() { return ctx().tf32; }

std::string device_description() {
  int dev = 0;
  cudaDeviceProp p{};
  IM_CUDA_CHECK(cudaGetDevice(&dev));
  IM_CUDA_CHECK(cudaGetDeviceProperties(&p, dev));
  return std::string(p.name) + " (sm_" + std::to_string(p.major) + std::to_string(p.minor) + ", " +
         std::to_string(p.totalGlobalMem >> 20) + " MiB)";
}

}  // namespace im::cuda
