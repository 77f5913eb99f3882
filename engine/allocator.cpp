// Size-class caching allocator shared by both devices (see allocator.h for why).
#include "engine/allocator.h"

#include <cstdlib>
#include <map>
#include <mutex>
#include <vector>

#include "engine/check.h"
#include "engine/cuda_api.h"

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

struct Pool {
  std::mutex mu;
  std::multimap<size_t, void*> free_blocks;  // size class -> block
  AllocatorStats stats;
  Device dev;

  explicit Pool(Device d) : dev(d) {}

  void* raw(size_t bytes) {
    ++stats.raw_allocs;
    if (dev == Device::CUDA) return cuda::raw_malloc(bytes);
    void* p = std::aligned_alloc(64, bytes);
    IM_CHECK(p != nullptr, "out of host memory allocating " << bytes << " bytes");
    return p;
  }
  void raw_release(void* p) {
    if (dev == Device::CUDA)
      cuda::raw_free(p);
    else
      std::free(p);
  }
  void* get(size_t bytes) {
    size_t c = size_class(bytes);
    std::lock_guard<std::mutex> lock(mu);
    auto it = free_blocks.find(c);
    void* p;
    if (it != free_blocks.end()) {
      p = it->second;
      free_blocks.erase(it);
      ++stats.cache_hits;
      stats.bytes_cached -= c;
    } else {
      p = raw(c);
    }
    stats.bytes_in_use += c;
    return p;
  }
  void put(void* p, size_t bytes) {
    size_t c = size_class(bytes);
    std::lock_guard<std::mutex> lock(mu);
    free_blocks.emplace(c, p);
    stats.bytes_in_use -= c;
    stats.bytes_cached += c;
  }
  void release() {
    std::lock_guard<std::mutex> lock(mu);
    for (auto& kv : free_blocks) raw_release(kv.second);
    free_blocks.clear();
    stats.bytes_cached = 0;
  }
};

// Pools live for the whole process and are never destroyed: tensors held by static objects may be
// freed after main returns, and the CUDA context may already be gone by then.
Pool& pool(Device dev) {
  static Pool* cpu = new Pool(Device::CPU);
  static Pool* gpu = new Pool(Device::CUDA);
  return dev == Device::CUDA ? *gpu : *cpu;
}

}  // namespace

void* allocate(size_t bytes, Device dev) { return pool(dev).get(bytes); }
void deallocate(void* p, size_t bytes, Device dev) {
  if (p) pool(dev).put(p, bytes);
}
AllocatorStats allocator_stats(Device dev) {
  Pool& p = pool(dev);
  std::lock_guard<std::mutex> lock(p.mu);
  return p.stats;
}
void release_cached(Device dev) { pool(dev).release(); }

}  // namespace im
