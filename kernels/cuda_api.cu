// The CUDA runtime under the kernels and the engine: device choice and probe, raw memory, pinned
// staging for asynchronous uploads, the stream and library handles, the shared workspace, the TF32,
// deterministic and synchronize-after-launch switches.
#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>

#include "kernels/check.h"
#include "kernels/cuda_api.h"
#include "kernels/cuda_context.cuh"

namespace im::cuda {

void fail(const char* library, const char* error, const char* call, const char* file, int line) {
  std::string f(file);
  if (auto p = f.rfind('/'); p != std::string::npos) f = f.substr(p + 1);
  throw Error(std::string(library) + " call failed: " + call + ": " + error + " (" + f + ":" +
              std::to_string(line) + ")");
}

namespace {

// Host-to-device copies are staged through kStagingSlots pinned buffers of kStagingBytes used in
// turn; a slot is refilled only after the copy that last read it has run (its event).
constexpr int kStagingSlots = 4;
constexpr size_t kStagingBytes = size_t(8) << 20;

struct Staging {
  char* host = nullptr;
  cudaEvent_t done = nullptr;
  bool pending = false;
};

struct Context {
  int device = 0;
  cudaStream_t stream = nullptr;
  cublasHandle_t cublas = nullptr;
  cudnnHandle_t cudnn = nullptr;
  void* workspace = nullptr;
  size_t workspace_bytes = 0;
  bool tf32 = false;
  std::mutex staging_mu;
  Staging staging[kStagingSlots];
  int next_slot = 0;
};

std::atomic<int> g_requested_device{0};
std::atomic<int> g_context_device{-1};  // the device of the created context, -1 before
std::atomic<bool> g_deterministic{false};

Context* make_context() {
  auto* k = new Context;  // never destroyed: tensors held by static objects may outlive main
  k->device = g_requested_device.load();
  IM_CUDA_CHECK(cudaSetDevice(k->device));
  IM_CUDA_CHECK(cudaStreamCreateWithFlags(&k->stream, cudaStreamNonBlocking));
  IM_CUBLAS_CHECK(cublas_api().create(&k->cublas));
  IM_CUBLAS_CHECK(cublas_api().set_stream(k->cublas, k->stream));
  IM_CUBLAS_CHECK(cublas_api().set_math_mode(k->cublas, CUBLAS_DEFAULT_MATH));
  IM_CUDNN_CHECK(cudnnCreate(&k->cudnn));
  IM_CUDNN_CHECK(cudnnSetStream(k->cudnn, k->stream));
  g_context_device = k->device;
  return k;
}

// The context, created on first use; every host thread that uses it binds to its device first
// (the current device is per thread in CUDA: a reader or writer thread would otherwise use 0).
Context& ctx() {
  static Context* c = make_context();
  thread_local bool bound = false;
  if (!bound) {
    IM_CUDA_CHECK(cudaSetDevice(c->device));
    bound = true;
  }
  return *c;
}

std::string mib(size_t bytes) { return std::to_string(bytes >> 20) + " MiB"; }

}  // namespace

int device_count() {
  int n = 0;
  if (cudaGetDeviceCount(&n) != cudaSuccess) {
    cudaGetLastError();  // clear the error so later calls start clean
    return 0;
  }
  return n;
}

void set_device(int index) {
  const int n = device_count();
  IM_CHECK(index >= 0 && index < n, "CUDA device cuda:" << index << " was asked for, but " << n
                                                         << " CUDA device(s) are usable (cuda:0 to cuda:" << n - 1 << ")");
  const int current = g_context_device.load();
  IM_CHECK(current < 0 || current == index, "CUDA device cuda:" << index << " was asked for after the engine started on cuda:"
                                                                 << current << " (choose the device before any GPU work)");
  g_requested_device = index;
}

bool probe(std::string* reason) {
  int n = 0;
  cudaError_t e = cudaGetDeviceCount(&n);
  if (e != cudaSuccess) {
    if (reason) *reason = std::string("CUDA runtime: ") + cudaGetErrorString(e);
    cudaGetLastError();
    return false;
  }
  if (n == 0) {
    if (reason) *reason = "no CUDA device found";
    return false;
  }
  try {
    Context& c = ctx();  // stream, cuBLAS and cuDNN handles
    void* p = raw_malloc(256);
    IM_CUDA_CHECK(cudaMemsetAsync(p, 0, 256, c.stream));
    IM_CUDA_CHECK(cudaStreamSynchronize(c.stream));
    raw_free(p);
    IM_CHECK(cudnnGetVersion() / 10000 == CUDNN_MAJOR, "cuDNN " << cudnnGetVersion() << " loaded, built against "
                                                                << CUDNN_VERSION << " (another major version)");
  } catch (const std::exception& ex) {
    if (reason) *reason = std::string("CUDA device cuda:") + std::to_string(g_requested_device.load()) + " is present but " + ex.what();
    cudaGetLastError();
    return false;
  }
  return true;
}

cudaStream_t stream() { return ctx().stream; }
cublasHandle_t cublas() { return ctx().cublas; }
cudnnHandle_t cudnn() { return ctx().cudnn; }

namespace {
void (*g_release_cache)() = nullptr;  // constant-initialized: set_release_cache may run at static init
}  // namespace

void set_release_cache(void (*release)()) { g_release_cache = release; }

void* workspace(size_t bytes) {
  Context& c = ctx();
  if (bytes > c.workspace_bytes) {
    if (c.workspace) {
      IM_CUDA_CHECK(cudaStreamSynchronize(c.stream));
      IM_CUDA_CHECK(cudaFree(c.workspace));
      c.workspace = nullptr;
      c.workspace_bytes = 0;
    }
    const size_t want = bytes + bytes / 4;
    c.workspace = raw_try_malloc(want);
    if (!c.workspace) {  // as the caching allocator does: give its cache back and try once more
      if (g_release_cache) g_release_cache();
      c.workspace = raw_malloc(want);
    }
    c.workspace_bytes = want;
  }
  return c.workspace;
}

void* raw_try_malloc(size_t bytes) {
  ctx();
  void* p = nullptr;
  const cudaError_t e = cudaMalloc(&p, bytes);
  if (e == cudaErrorMemoryAllocation) {
    cudaGetLastError();  // not sticky: clear it so the caller may free memory and retry
    return nullptr;
  }
  IM_CUDA_CHECK(e);
  return p;
}

void* raw_malloc(size_t bytes) {
  void* p = raw_try_malloc(bytes);
  if (!p) {
    size_t free_b = 0, total = 0;
    cudaMemGetInfo(&free_b, &total);
    IM_CHECK(false, "out of GPU memory: cudaMalloc of " << mib(bytes) << " failed (" << mib(free_b) << " free of " << mib(total)
                                                        << " on " << device_description() << ")");
  }
  return p;
}

void raw_free(void* p) {
  if (p) cudaFree(p);  // not checked: called from destructors, possibly at process exit
}

void copy_h2d(void* dst, const void* src, size_t bytes) {
  Context& c = ctx();
  std::lock_guard<std::mutex> lock(c.staging_mu);
  for (size_t off = 0; off < bytes; off += kStagingBytes) {
    const size_t n = std::min(kStagingBytes, bytes - off);
    Staging& s = c.staging[c.next_slot];
    c.next_slot = (c.next_slot + 1) % kStagingSlots;
    if (!s.host) {
      IM_CUDA_CHECK(cudaMallocHost(reinterpret_cast<void**>(&s.host), kStagingBytes));
      IM_CUDA_CHECK(cudaEventCreateWithFlags(&s.done, cudaEventDisableTiming));
    }
    if (s.pending) IM_CUDA_CHECK(cudaEventSynchronize(s.done));  // the last copy out of it has run
    std::memcpy(s.host, static_cast<const char*>(src) + off, n);
    IM_CUDA_CHECK(cudaMemcpyAsync(static_cast<char*>(dst) + off, s.host, n, cudaMemcpyHostToDevice, c.stream));
    IM_CUDA_CHECK(cudaEventRecord(s.done, c.stream));
    s.pending = true;
  }
  IM_CUDA_LAUNCH_CHECK();
}
void copy_d2h(void* dst, const void* src, size_t bytes) {
  IM_CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToHost, stream()));
  IM_CUDA_CHECK(cudaStreamSynchronize(stream()));
}
void copy_d2d(void* dst, const void* src, size_t bytes) {
  IM_CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice, stream()));
  IM_CUDA_LAUNCH_CHECK();
}
void memset_zero(void* dst, size_t bytes) {
  IM_CUDA_CHECK(cudaMemsetAsync(dst, 0, bytes, stream()));
  IM_CUDA_LAUNCH_CHECK();
}
void synchronize() { IM_CUDA_CHECK(cudaStreamSynchronize(stream())); }

bool sync_after_launch() {
  static const bool on = [] {
    const char* v = std::getenv("IMUNITY_CUDA_SYNC");
    const bool s = v && *v && std::strcmp(v, "0") != 0;
    if (s) std::fprintf(stderr, "imunity: IMUNITY_CUDA_SYNC=%s: synchronizing after every CUDA launch (slow)\n", v);
    return s;
  }();
  return on;
}

void check_launch(const char* file, int line) {
  cudaError_t e = cudaGetLastError();
  if (e != cudaSuccess) fail("CUDA", cudaGetErrorString(e), "kernel launch", file, line);
  if (!sync_after_launch()) return;
  e = cudaStreamSynchronize(stream());
  if (e != cudaSuccess) fail("CUDA", cudaGetErrorString(e), "the work launched here (IMUNITY_CUDA_SYNC=1)", file, line);
}

void set_tf32(bool on) {
  IM_CHECK(!on || !deterministic(), "TF32 cannot be switched on in deterministic mode");
  ctx().tf32 = on;
  IM_CUBLAS_CHECK(cublas_api().set_math_mode(cublas(), on ? CUBLAS_TF32_TENSOR_OP_MATH : CUBLAS_DEFAULT_MATH));
}
bool tf32() { return ctx().tf32; }

void set_deterministic(bool on) {
  g_deterministic = on;
  if (on && g_context_device.load() >= 0) set_tf32(false);  // before the context exists TF32 is off anyway
}
bool deterministic() { return g_deterministic.load(); }

std::string device_description() {
  const int dev = ctx().device;
  cudaDeviceProp p{};
  IM_CUDA_CHECK(cudaGetDeviceProperties(&p, dev));
  return std::string(p.name) + " (cuda:" + std::to_string(dev) + ", sm_" + std::to_string(p.major) + std::to_string(p.minor) +
         ", " + std::to_string(p.totalGlobalMem >> 20) + " MiB)";
}

}  // namespace im::cuda
