// cuBLAS opened on the first GPU use (dlopen) instead of linked: libcublasLt's initializers cost
// about 0.3 s and 200 MB at every process start, CPU-only runs included (measured with perf).
#include <dlfcn.h>

#include <string>

#include "kernels/check.h"
#include "kernels/cuda_api.h"
#include "kernels/cuda_context.cuh"

namespace im::cuda {
namespace {

template <class F>
F symbol(void* lib, const char* name, const std::string& from) {
  void* p = dlsym(lib, name);
  IM_CHECK(p, "cuBLAS: " << from << " has no symbol " << name << " (another cuBLAS major version?)");
  return reinterpret_cast<F>(p);
}

CublasApi load() {
  // The soname first (LD_LIBRARY_PATH, the executable's run path), then the build's cuBLAS folder.
  std::string tried, from = IMUNITY_CUBLAS_SONAME;
  void* lib = dlopen(from.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!lib) {
    tried = dlerror();
    from = std::string(IMUNITY_CUBLAS_DIR) + "/" + IMUNITY_CUBLAS_SONAME;
    lib = dlopen(from.c_str(), RTLD_NOW | RTLD_LOCAL);
  }
  IM_CHECK(lib, "cuBLAS could not be loaded: " << tried << "; " << dlerror()
                                               << " (set LD_LIBRARY_PATH to the folder holding " << IMUNITY_CUBLAS_SONAME << ")");
  CublasApi a;
  a.create = symbol<decltype(a.create)>(lib, "cublasCreate_v2", from);
  a.set_stream = symbol<decltype(a.set_stream)>(lib, "cublasSetStream_v2", from);
  a.set_math_mode = symbol<decltype(a.set_math_mode)>(lib, "cublasSetMathMode", from);
  a.sgemm = symbol<decltype(a.sgemm)>(lib, "cublasSgemm_v2", from);
  a.status_string = symbol<decltype(a.status_string)>(lib, "cublasGetStatusString", from);
  a.file = from;
  return a;  // the library stays open for the life of the process
}

}  // namespace

const CublasApi& cublas_api() {
  static const CublasApi api = load();
  return api;
}

std::string cublas_library() { return cublas_api().file; }

}  // namespace im::cuda
