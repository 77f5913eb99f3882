// test_parity entry point: CPU-vs-CUDA agreement of every op. Without a usable GPU it prints why and
// exits 77, which ctest reports as Skipped.
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>

#include <cstdio>

#include "engine/device.h"
#include "kernels/cuda_api.h"

int main(int argc, char** argv) {
  if (!im::cuda_available()) {
    std::printf("SKIPPED: CPU-vs-CUDA parity needs a GPU: %s\n", im::cuda_unavailable_reason().c_str());
    return 77;
  }
  im::cuda::set_tf32(false);  // parity is checked at full fp32 precision
  std::printf("parity on %s\n", im::cuda::device_description().c_str());
  return Catch::Session().run(argc, argv);
}
