// Device spellings (cpu, cuda, cuda:N, auto), the messages when the GPU asked for is missing, and
// the deterministic switch; the CUDA side of each is in tests/parity/parity_device.cpp.
#include <catch2/catch.hpp>

#include <fstream>
#include <string>

#include "engine/device.h"
#include "kernels/check.h"
#include "kernels/cuda_api.h"

using namespace im;

TEST_CASE("device: spellings the command lines accept") {
  for (const char* ok : {"cpu", "cuda", "gpu", "auto", "cuda:0", "cuda:3", "cuda:12"}) CHECK(device_spelling_error(ok).empty());
  for (const char* bad : {"", "CUDA", "cuda:", "cuda:x", "cuda:-1", "cuda:1a", "cuda:99999", "tpu", "cuda0"}) {
    INFO(bad);
    CHECK_THAT(device_spelling_error(bad), Catch::Contains("expected cpu, cuda, cuda:N or auto"));
    CHECK_THROWS_WITH(parse_device(bad), Catch::Contains("unknown device"));
  }
  CHECK(parse_device("cpu") == Device::CPU);
}

TEST_CASE("device: a GPU that is not there is refused with the reason") {
  if (cuda::device_count() > 0) {
    WARN("skipped: this machine has a GPU (tests/parity/parity_device.cpp covers it)");
    return;
  }
  CHECK(parse_device("auto") == Device::CPU);
  CHECK_THROWS_WITH(parse_device("cuda"), Catch::Contains("--device cuda was asked for, but"));
  // cuda:1 names the index it could not find (or, in a CPU-only build, that there is no backend).
  CHECK_THROWS_WITH(parse_device("cuda:1"), Catch::Contains("cuda:1") || Catch::Contains("no CUDA backend"));
}

TEST_CASE("device: the deterministic switch is recorded") {
  CHECK_FALSE(cuda::deterministic());
  cuda::set_deterministic(true);
  CHECK(cuda::deterministic());
  cuda::set_deterministic(false);
  CHECK_FALSE(cuda::deterministic());
}

TEST_CASE("device: the CPU's description names the threads and the kernels' instruction-set path") {
  const int before = num_threads();
  for (const int n : {1, 2}) {
    set_num_threads(n);
    const std::string d = device_description(Device::CPU);
    INFO(d);
    CHECK(d.rfind(n == 1 ? "cpu (1 thread, " : "cpu (2 threads, ", 0) == 0);
    const bool named = d.find(", generic kernels)") != std::string::npos || d.find(", avx2 kernels)") != std::string::npos ||
                       d.find(", avx512 kernels)") != std::string::npos;
    CHECK(named);
  }
  set_num_threads(before);
}

// cuBLAS is opened on first GPU use, not linked: its start-up (libcublasLt's initializers, about
// 0.3 s and 200 MB) must not be paid by CPU-only runs, yet it must still be found when wanted.
namespace {
bool mapped(const std::string& needle) {
  std::ifstream maps("/proc/self/maps");
  std::string line;
  while (std::getline(maps, line))
    if (line.find(needle) != std::string::npos) return true;
  return false;
}
}  // namespace

TEST_CASE("device: cuBLAS is not loaded by CPU work and is found on demand") {
  REQUIRE(std::ifstream("/proc/self/maps").good());
  // This process has run only CPU cases so far (ctest runs one case per process).
  CHECK_FALSE(mapped("libcublas"));
#if !defined(IMUNITY_WITH_CUDA)
  WARN("SKIPPED: a CPU-only build has no cuBLAS to open");
#else
  const std::string file = cuda::cublas_library();
  INFO(file);
  CHECK(file.find("libcublas.so.") != std::string::npos);
  CHECK(mapped("libcublas"));
  CHECK(mapped("libcublasLt"));
#endif
}
