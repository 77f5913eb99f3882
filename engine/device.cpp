// Device detection (probe once, fall back to CPU once and say so) and the OpenMP thread count.
#include "engine/device.h"

#include <omp.h>

#include <cstdio>
#include <mutex>

#include "engine/check.h"
#include "engine/cuda_api.h"

namespace im {

const char* device_name(Device d) { return d == Device::CUDA ? "cuda" : "cpu"; }

namespace {
struct Probe {
  bool ok = false;
  std::string reason;
};
const Probe& probe_once() {
  static Probe p = [] {
    Probe r;
    r.ok = cuda::probe(&r.reason);
    return r;
  }();
  return p;
}
}  // namespace

bool cuda_available() { return probe_once().ok; }
std::string cuda_unavailable_reason() { return probe_once().reason; }

Device default_device() {
  if (cuda_available()) return Device::CUDA;
  static std::once_flag said;
  std::call_once(said, [] {
    std::fprintf(stderr, "imunity: no usable GPU (%s): running on the CPU with %d threads\n",
                 cuda_unavailable_reason().c_str(), num_threads());
  });
  return Device::CPU;
}

Device parse_device(const std::string& name) {
  if (name == "cpu") return Device::CPU;
  if (name == "auto") return default_device();
  if (name == "cuda" || name == "gpu") {
    IM_CHECK(cuda_available(), "--device cuda was asked for, but " << cuda_unavailable_reason());
    return Device::CUDA;
  }
  IM_CHECK(false, "unknown device '" << name << "' (expected cpu, cuda or auto)");
}

void set_num_threads(int n) {
  IM_CHECK(n > 0, "thread count must be positive, got " << n);
  omp_set_num_threads(n);
}

int num_threads() { return omp_get_max_threads(); }

}  // namespace im
