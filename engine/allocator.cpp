// Size-class caching allocator shared by both devices (see allocator.h for why).
#include "engine/allocator.h"

#include <cstdlib>
#include <map>
#include <mutex>
#include <unordered_map>

#include "kernels/check.h"
#include "kernels/cuda_api.h"

namespace im {

namespace {

// Size classes: multiples of 512 bytes up to 1 MiB, then 8 steps per power of two, so a reused
// block wastes at most 12.5%.
size_t size_class(size_t bytes) {
  if (bytes == 0) bytes = 1;
  if (bytes <= (1u << 20)) return (bytes + 511) / 512 * 512;
  size_t p = 1;
  while (p * 2 <= bytes) p *= 2;
  size_t step = p / 8;
  return (bytes + step - 1) / step * step;
}

// A cached block up to this factor larger than the request is reused rather than allocating anew
// (varying batch sizes then share blocks instead of filling the cache with near-duplicates).
constexpr double kMaxReuseFactor = 1.5;

struct Pool {
  std::mutex mu;
  std::multimap<size_t, void*> free_blocks;  // block size -> block
  std::unordered_map<void*, size_t> live;    // block -> its size (may exceed the class asked for)
  AllocatorStats stats;
  Device dev;
  int injected_failures = 0;

  explicit Pool(Device d) : dev(d) {}

  void* try_raw(size_t bytes) {
    if (injected_failures > 0) {
      --injected_failures;
      return nullptr;
    }
    void* p = dev == Device::CUDA ? cuda::raw_try_malloc(bytes) : std::aligned_alloc(64, bytes);
    if (p) ++stats.raw_allocs;
    return p;
  }
  void raw_release(void* p) {
    if (dev == Device::CUDA)
      cuda::raw_free(p);
    else
      std::free(p);
  }
  void release_locked() {
    if (dev == Device::CUDA && !free_blocks.empty()) cuda::synchronize();  // queued work may still use them
    for (auto& kv : free_blocks) raw_release(kv.second);
    free_blocks.clear();
    stats.bytes_cached = 0;
  }
  void* get(size_t bytes) {
    const size_t c = size_class(bytes);
    std::lock_guard<std::mutex> lock(mu);
    void* p = nullptr;
    size_t size = c;
    auto it = free_blocks.lower_bound(c);
    if (it != free_blocks.end() && static_cast<double>(it->first) <= kMaxReuseFactor * static_cast<double>(c)) {
      size = it->first;
      p = it->second;
      free_blocks.erase(it);
      ++stats.cache_hits;
      stats.bytes_cached -= size;
    } else {
      p = try_raw(c);
      if (!p) {  // give the cache back and try once more
        const size_t freed = stats.bytes_cached;
        release_locked();
        ++stats.cache_releases;
        p = try_raw(c);
        IM_CHECK(p, "out of " << (dev == Device::CUDA ? "GPU" : "host") << " memory allocating " << c << " bytes, also after freeing "
                              << freed << " cached bytes (" << stats.bytes_in_use << " bytes held by live tensors)");
      }
    }
    live.emplace(p, size);
    stats.bytes_in_use += size;
    return p;
  }
  void put(void* p) {
    std::lock_guard<std::mutex> lock(mu);
    auto it = live.find(p);
    IM_CHECK(it != live.end(), "deallocate of a block this allocator did not hand out");
    const size_t size = it->second;
    live.erase(it);
    free_blocks.emplace(size, p);
    stats.bytes_in_use -= size;
    stats.bytes_cached += size;
  }
  void release() {
    std::lock_guard<std::mutex> lock(mu);
    release_locked();
  }
};

// Pools live for the whole process and are never destroyed: tensors held by static objects may be
// freed after main returns, and the CUDA context may already be gone by then.
Pool& pool(Device dev) {
  static Pool* cpu = new Pool(Device::CPU);
  static Pool* gpu = [] {
    // The shared CUDA workspace (kernels/cuda_api.cu) gives this cache back when its allocation fails.
    cuda::set_release_cache([] { release_cached(Device::CUDA); });
    return new Pool(Device::CUDA);
  }();
  return dev == Device::CUDA ? *gpu : *cpu;
}

}  // namespace

void* allocate(size_t bytes, Device dev) { return pool(dev).get(bytes); }
void deallocate(void* p, size_t, Device dev) {
  if (p) pool(dev).put(p);
}
AllocatorStats allocator_stats(Device dev) {
  Pool& p = pool(dev);
  std::lock_guard<std::mutex> lock(p.mu);
  return p.stats;
}
void release_cached(Device dev) { pool(dev).release(); }
void fail_next_raw_allocations(Device dev, int n) {
  Pool& p = pool(dev);
  std::lock_guard<std::mutex> lock(p.mu);
  p.injected_failures = n;
}

}  // namespace im
