// The GPU timing harness of the benchmarks: device buffers, CUDA-event timing of a launch sequence
// (eager and replayed from a CUDA graph), and the device-to-device copy bandwidth that memory-bound
// kernels are compared with in the same run. Header-only: each benchmark is one translation unit.
#pragma once
#include <cuda_runtime.h>

#include <cmath>
#include <cstdio>
#include <exception>
#include <functional>
#include <vector>

#include "kernels/cuda_api.h"
#include "kernels/cuda_context.cuh"

namespace im::bench {

// A device buffer; copies go through the engine's stream (the kernels' stream).
struct Buf {
  float* d = nullptr;
  size_t n = 0;
  explicit Buf(size_t count) : n(count) { IM_CUDA_CHECK(cudaMalloc(&d, bytes() ? bytes() : 4)); }
  explicit Buf(const std::vector<float>& h) : Buf(h.size()) { upload(h); }
  ~Buf() { cudaFree(d); }
  Buf(const Buf&) = delete;
  Buf& operator=(const Buf&) = delete;
  size_t bytes() const { return n * sizeof(float); }
  void upload(const std::vector<float>& h) { cuda::copy_h2d(d, h.data(), h.size() * sizeof(float)); }
  std::vector<float> download() const {
    std::vector<float> h(n);
    cuda::copy_d2h(h.data(), d, bytes());
    return h;
  }
  void zero() { cuda::memset_zero(d, bytes()); }
};

struct Events {
  cudaEvent_t a, b;
  Events() {
    IM_CUDA_CHECK(cudaEventCreate(&a));
    IM_CUDA_CHECK(cudaEventCreate(&b));
  }
  ~Events() {
    cudaEventDestroy(a);
    cudaEventDestroy(b);
  }
};

// Mean microseconds per call of f: launched one by one from the host ("eager"), and replayed from
// a CUDA graph of `iters` calls ("graph": the GPU time alone, without launch overhead).
struct GpuTiming {
  double eager_us = NAN, graph_us = NAN;
};
inline GpuTiming time_gpu(const std::function<void()>& f, int warmup, int iters) {
  static Events ev;
  cudaStream_t s = cuda::stream();
  for (int i = 0; i < warmup; ++i) f();
  GpuTiming t;
  float ms = 0;
  IM_CUDA_CHECK(cudaEventRecord(ev.a, s));
  for (int i = 0; i < iters; ++i) f();
  IM_CUDA_CHECK(cudaEventRecord(ev.b, s));
  IM_CUDA_CHECK(cudaEventSynchronize(ev.b));
  IM_CUDA_CHECK(cudaEventElapsedTime(&ms, ev.a, ev.b));
  t.eager_us = 1000.0 * ms / iters;
  cudaGraph_t graph = nullptr;
  cudaGraphExec_t exec = nullptr;
  try {
    IM_CUDA_CHECK(cudaStreamBeginCapture(s, cudaStreamCaptureModeThreadLocal));
    for (int i = 0; i < iters; ++i) f();
    IM_CUDA_CHECK(cudaStreamEndCapture(s, &graph));
    IM_CUDA_CHECK(cudaGraphInstantiate(&exec, graph, 0));
    IM_CUDA_CHECK(cudaGraphLaunch(exec, s));  // warm
    IM_CUDA_CHECK(cudaEventRecord(ev.a, s));
    IM_CUDA_CHECK(cudaGraphLaunch(exec, s));
    IM_CUDA_CHECK(cudaEventRecord(ev.b, s));
    IM_CUDA_CHECK(cudaEventSynchronize(ev.b));
    IM_CUDA_CHECK(cudaEventElapsedTime(&ms, ev.a, ev.b));
    t.graph_us = 1000.0 * ms / iters;
  } catch (const std::exception& e) {
    std::printf("  (graph timing failed: %s)\n", e.what());
    cudaGraph_t g2 = nullptr;
    cudaStreamEndCapture(s, &g2);
    if (g2) cudaGraphDestroy(g2);
    cudaGetLastError();
  }
  if (exec) cudaGraphExecDestroy(exec);
  if (graph) cudaGraphDestroy(graph);
  return t;
}

// The reference of the memory-bound rows: a device-to-device copy moving `bytes` in total (bytes / 2 read, bytes / 2 written), in GB/s.
inline double copy_gbs(double bytes, int warmup, int iters) {
  static Buf* src = nullptr;
  static Buf* dst = nullptr;
  const size_t half = static_cast<size_t>(bytes / 2) / 4 * 4;
  if (!src || src->bytes() < half) {
    delete src;
    delete dst;
    src = new Buf(half / 4 + 1);
    dst = new Buf(half / 4 + 1);
    src->zero();
  }
  const GpuTiming t =
      time_gpu([&] { IM_CUDA_CHECK(cudaMemcpyAsync(dst->d, src->d, half, cudaMemcpyDeviceToDevice, cuda::stream())); }, warmup, iters);
  const double us = std::isnan(t.graph_us) ? t.eager_us : t.graph_us;
  return 2.0 * half / (us * 1e3);
}

}  // namespace im::bench
