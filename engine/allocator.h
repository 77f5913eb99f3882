// Caching allocator for host (64-byte aligned) and device memory: freed blocks are kept by size
// class and reused, so a training step after the first never calls malloc/cudaMalloc. When the
// system allocation fails, the cache is given back and the allocation tried once more.
#pragma once
#include <cstddef>
#include <cstdint>

#include "engine/device.h"

namespace im {

void* allocate(size_t bytes, Device dev);
void deallocate(void* p, size_t bytes, Device dev);

struct AllocatorStats {
  uint64_t raw_allocs = 0;      // calls to the system allocator (aligned_alloc / cudaMalloc) that succeeded
  uint64_t cache_hits = 0;      // requests served from the cache
  uint64_t cache_releases = 0;  // times the cache was given back because an allocation failed
  size_t bytes_in_use = 0;      // held by live tensors
  size_t bytes_cached = 0;      // held by the cache, free for reuse
};
AllocatorStats allocator_stats(Device dev);
// Returns cached blocks to the system.
void release_cached(Device dev);
// For tests: the next n system allocations on dev fail as if memory were exhausted.
void fail_next_raw_allocations(Device dev, int n);

}  // namespace im
