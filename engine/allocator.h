// Caching allocator for host (64-byte aligned) and device memory: freed blocks are kept by size
// class and reused, so a training step after the first never calls malloc/cudaMalloc.
#pragma once
#include <cstddef>
#include <cstdint>

#include "engine/device.h"

namespace im {

void* allocate(size_t bytes, Device dev);
void deallocate(void* p, size_t bytes, Device dev);

struct AllocatorStats {
  uint64_t raw_allocs = 0;     // calls to the system allocator (aligned_alloc / cudaMalloc)
  uint64_t cache_hits = 0;     // requests served from the cache
  size_t bytes_in_use = 0;     // held by live tensors
  size_t bytes_cached = 0;     // held by the cache, free for reuse
};
AllocatorStats allocator_stats(Device dev);
// Returns cached blocks to the system.
void release_cached(Device dev);

}  // namespace im
