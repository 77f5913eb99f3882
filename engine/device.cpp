// Device detection (probe once, fall back to CPU once and say so) and the OpenMP thread count.
#include "engine/device.h"

#include <omp.h>

#include <cstdio>
#include <mutex>

#include "kernels/check.h"
#include "kernels/cpu_dispatch.h"
#include "kernels/cuda_api.h"

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

namespace {
// N of "cuda:N", or -1 when name is not of that form.
int cuda_index(const std::string& name) {
  const std::string prefix = "cuda:";
  if (name.compare(0, prefix.size(), prefix) != 0 || name.size() == prefix.size() || name.size() > prefix.size() + 4) return -1;
  int n = 0;
  for (size_t i = prefix.size(); i < name.size(); ++i) {
    if (name[i] < '0' || name[i] > '9') return -1;
    n = n * 10 + (name[i] - '0');
  }
  return n;
}
}  // namespace

std::string device_spelling_error(const std::string& name) {
  if (name == "cpu" || name == "auto" || name == "cuda" || name == "gpu" || cuda_index(name) >= 0) return "";
  return "unknown device '" + name + "' (expected cpu, cuda, cuda:N or auto)";
}

Device parse_device(const std::string& name) {
  if (name == "cpu") return Device::CPU;
  if (name == "auto") return default_device();
  const std::string err = device_spelling_error(name);
  IM_CHECK(err.empty(), err);
  if (const int index = cuda_index(name); index >= 0) cuda::set_device(index);
  IM_CHECK(cuda_available(), "--device " << name << " was asked for, but " << cuda_unavailable_reason());
  return Device::CUDA;
}

void set_num_threads(int n) {
  IM_CHECK(n > 0, "thread count must be positive, got " << n);
  omp_set_num_threads(n);
}

int num_threads() { return omp_get_max_threads(); }

std::string device_description(Device d) {
  if (d == Device::CUDA) return "cuda (" + cuda::device_description() + ")";
  const int n = num_threads();
  return "cpu (" + std::to_string(n) + (n == 1 ? " thread, " : " threads, ") + cpu_path_name(cpu_path()) + " kernels)";
}

}  // namespace im
