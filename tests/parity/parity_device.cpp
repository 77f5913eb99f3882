// The CUDA runtime side on a real GPU: device choice (cuda:N), asynchronous pinned uploads whose
// source is reused at once, the allocator's free-and-retry on a failed cudaMalloc, and recovery
// after a request larger than the GPU.
#include <catch2/catch.hpp>

#include <numeric>

#include "engine/allocator.h"
#include "engine/device.h"
#include "engine/ops.h"
#include "kernels/check.h"
#include "kernels/cuda_api.h"

using namespace im;

TEST_CASE("parity: --device cuda:N selects a present GPU and refuses another") {
  const int n = cuda::device_count();
  REQUIRE(n >= 1);
  CHECK(parse_device("cuda:0") == Device::CUDA);
  CHECK_THAT(cuda::device_description(), Catch::Contains("cuda:0"));
  CHECK_THROWS_WITH(parse_device("cuda:" + std::to_string(n)), Catch::Contains("usable"));
}

TEST_CASE("parity: uploads are asynchronous and safe to reuse the source at once, in many chunks") {
  for (size_t count : {size_t(3), size_t(1) << 20, size_t(11) << 20}) {  // 12 B, 4 MiB, 44 MiB (several slots, reused)
    std::vector<float> host(count);
    std::iota(host.begin(), host.end(), 0.f);
    const std::vector<float> want = host;
    std::vector<Tensor> uploads;
    for (int r = 0; r < 3; ++r) {
      uploads.push_back(Tensor::from_vector(host, {static_cast<int64_t>(count)}, Device::CUDA));
      for (float& v : host) v = -1.f;  // overwritten before the copy has necessarily run
      host = want;
    }
    for (const Tensor& t : uploads) CHECK(t.to_vector() == want);
  }
}

TEST_CASE("parity: a failed cudaMalloc frees the cache and retries, and an impossible one is reported and recoverable") {
  release_cached(Device::CUDA);  // earlier tests' blocks could serve the request below from the cache
  { Tensor warm = Tensor::empty({1 << 20}, Device::CUDA); }
  const AllocatorStats s0 = allocator_stats(Device::CUDA);
  CHECK(s0.bytes_cached > 0);
  fail_next_raw_allocations(Device::CUDA, 1);
  Tensor t = Tensor::full({3 << 20}, 2.f, Device::CUDA);
  CHECK(allocator_stats(Device::CUDA).cache_releases == s0.cache_releases + 1);
  CHECK(allocator_stats(Device::CUDA).bytes_cached == 0);
  fail_next_raw_allocations(Device::CUDA, 0);
  CHECK(sum(t).item() == Approx(2.f * (3 << 20)));
  // More than any GPU has: a real cudaMalloc failure, reported with sizes; the engine goes on.
  CHECK_THROWS_WITH(Tensor::empty({int64_t(1) << 40}, Device::CUDA), Catch::Contains("out of GPU memory"));
  CHECK(sum(Tensor::full({1000}, 1.f, Device::CUDA)).item() == Approx(1000.f));
}
