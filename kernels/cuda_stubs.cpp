// CPU-only builds: the CUDA entry points exist but report that this build has no CUDA backend.
#if !defined(IMUNITY_WITH_CUDA)
#include "kernels/check.h"
#include "kernels/cuda_api.h"

namespace im::cuda {

namespace {
[[noreturn]] void no_cuda() { IM_CHECK(false, "this build of imunity has no CUDA backend (configured with IMUNITY_CUDA=OFF or without nvcc/cuDNN)"); }
}  // namespace

bool probe(std::string* reason) {
  if (reason) *reason = "this build has no CUDA backend";
  return false;
}
int device_count() { return 0; }
void set_device(int) { no_cuda(); }
void* raw_malloc(size_t) { no_cuda(); }
void* raw_try_malloc(size_t) { no_cuda(); }
void raw_free(void*) {}
void set_release_cache(void (*)()) {}
void copy_h2d(void*, const void*, size_t) { no_cuda(); }
void copy_d2h(void*, const void*, size_t) { no_cuda(); }
void copy_d2d(void*, const void*, size_t) { no_cuda(); }
void memset_zero(void*, size_t) { no_cuda(); }
void synchronize() {}
void set_tf32(bool) {}
bool tf32() { return false; }
namespace {
bool g_deterministic = false;  // recorded only: the CPU backend is deterministic already
}  // namespace
void set_deterministic(bool on) { g_deterministic = on; }
bool deterministic() { return g_deterministic; }
bool sync_after_launch() { return false; }
std::string cublas_library() { no_cuda(); }
std::string device_description() { return "none (CPU-only build)"; }

}  // namespace im::cuda
#endif
