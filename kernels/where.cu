// CUDA where and masked_select. masked_select is a stream compaction in three kernels: selected
// counts per tile of 1024 elements, an exclusive scan of the tile counts (one block), then each
// tile scans its own flags and moves its elements; the backward replays the same positions.
#include <cstdint>

#include "kernels/cuda_context.cuh"
#include "kernels/where.h"

namespace im {

namespace {

constexpr int kThreads = 256;
constexpr int kItems = 4;                       // consecutive elements per thread
constexpr int64_t kTile = kThreads * kItems;    // elements per block
constexpr int kScanThreads = 1024;

__global__ void where_fwd(float* __restrict__ y, const float* __restrict__ m, const float* __restrict__ a,
                          const float* __restrict__ b, int64_t n) {
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x)
    y[i] = m[i] != 0.f ? a[i] : b[i];
}

__global__ void where_bwd(float* __restrict__ da, float* __restrict__ db, const float* __restrict__ dy,
                          const float* __restrict__ m, int64_t n) {
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x) {
    const bool s = m[i] != 0.f;
    if (da && s) da[i] += dy[i];
    if (db && !s) db[i] += dy[i];
  }
}

// Exclusive prefix sum of v over the block (kBlock threads, a multiple of 32); *total gets the
// sum, in every thread. Call once per kernel (static shared memory).
template <int kBlock>
__device__ long long block_exclusive_scan(long long v, long long* total) {
  __shared__ long long warp_prefix[kBlock / 32];
  __shared__ long long block_total;
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  long long inc = v;
  for (int off = 1; off < 32; off <<= 1) {
    long long t = __shfl_up_sync(0xffffffffu, inc, off);
    if (lane >= off) inc += t;
  }
  if (lane == 31) warp_prefix[warp] = inc;
  __syncthreads();
  if (warp == 0) {
    const long long w = lane < kBlock / 32 ? warp_prefix[lane] : 0;
    long long winc = w;
    for (int off = 1; off < 32; off <<= 1) {
      long long t = __shfl_up_sync(0xffffffffu, winc, off);
      if (lane >= off) winc += t;
    }
    if (lane < kBlock / 32) warp_prefix[lane] = winc - w;
    if (lane == 31) block_total = winc;
  }
  __syncthreads();
  *total = block_total;
  return warp_prefix[warp] + inc - v;
}

// buf[b] = number of selected elements in tile b.
__global__ void tile_counts(long long* __restrict__ buf, const float* __restrict__ m, int64_t n) {
  const int64_t base = blockIdx.x * kTile;
  long long c = 0;
  for (int k = 0; k < kItems; ++k) {
    const int64_t i = base + k * kThreads + threadIdx.x;  // strided: coalesced, order irrelevant here
    c += (i < n && m[i] != 0.f) ? 1 : 0;
  }
  long long total;
  block_exclusive_scan<kThreads>(c, &total);
  if (threadIdx.x == 0) buf[blockIdx.x] = total;
}

// In place: buf[b] becomes the number of selected elements before tile b; buf[tiles] the total.
__global__ void scan_tiles(long long* __restrict__ buf, int64_t tiles) {
  const int64_t seg = (tiles + kScanThreads - 1) / kScanThreads;
  const int64_t t0 = threadIdx.x * seg, t1 = t0 + seg < tiles ? t0 + seg : tiles;
  long long s = 0;
  for (int64_t t = t0; t < t1; ++t) s += buf[t];
  long long total;
  long long base = block_exclusive_scan<kScanThreads>(s, &total);
  for (int64_t t = t0; t < t1; ++t) {
    const long long c = buf[t];
    buf[t] = base;
    base += c;
  }
  if (threadIdx.x == 0) buf[tiles] = total;
}

// Forward: out = y, in = x, y[pos] = x[i]. Backward: out = dx, in = dy, dx[i] += dy[pos].
template <bool kForward>
__global__ void tile_apply(float* __restrict__ out, const float* __restrict__ in, const float* __restrict__ m,
                           const long long* __restrict__ offsets, int64_t n) {
  const int64_t base = blockIdx.x * kTile + static_cast<int64_t>(threadIdx.x) * kItems;
  bool sel[kItems];
  long long c = 0;
  for (int k = 0; k < kItems; ++k) {
    sel[k] = base + k < n && m[base + k] != 0.f;
    c += sel[k] ? 1 : 0;
  }
  long long total;
  long long pos = offsets[blockIdx.x] + block_exclusive_scan<kThreads>(c, &total);
  for (int k = 0; k < kItems; ++k) {
    if (!sel[k]) continue;
    if constexpr (kForward)
      out[pos] = in[base + k];
    else
      out[base + k] += in[pos];
    ++pos;
  }
}

// Runs tile_counts and scan_tiles; returns the offsets (tiles + 1 entries, in the workspace).
long long* tile_offsets(const float* mask, int64_t n, int64_t* tiles_out) {
  const int64_t tiles = (n + kTile - 1) / kTile;
  long long* buf = static_cast<long long*>(cuda::workspace(static_cast<size_t>(tiles + 1) * sizeof(long long)));
  tile_counts<<<static_cast<unsigned>(tiles), kThreads, 0, cuda::stream()>>>(buf, mask, n);
  IM_CUDA_LAUNCH_CHECK();
  scan_tiles<<<1, kScanThreads, 0, cuda::stream()>>>(buf, tiles);
  IM_CUDA_LAUNCH_CHECK();
  *tiles_out = tiles;
  return buf;
}

}  // namespace

void where_forward_cuda(float* y, const float* mask, const float* a, const float* b, int64_t n) {
  if (n == 0) return;
  where_fwd<<<cuda::grid_for(n), kThreads, 0, cuda::stream()>>>(y, mask, a, b, n);
  IM_CUDA_LAUNCH_CHECK();
}

void where_backward_cuda(float* da, float* db, const float* dy, const float* mask, int64_t n) {
  if (n == 0 || (!da && !db)) return;
  where_bwd<<<cuda::grid_for(n), kThreads, 0, cuda::stream()>>>(da, db, dy, mask, n);
  IM_CUDA_LAUNCH_CHECK();
}

void mask_count_cuda(const float* mask, int64_t n, int64_t* count) {
  *count = 0;
  if (n == 0) return;
  int64_t tiles = 0;
  long long* buf = tile_offsets(mask, n, &tiles);
  long long total = 0;
  IM_CUDA_CHECK(cudaMemcpyAsync(&total, buf + tiles, sizeof(total), cudaMemcpyDeviceToHost, cuda::stream()));
  IM_CUDA_CHECK(cudaStreamSynchronize(cuda::stream()));
  *count = static_cast<int64_t>(total);
}

void masked_select_forward_cuda(float* y, const float* x, const float* mask, int64_t n) {
  if (n == 0) return;
  int64_t tiles = 0;
  const long long* off = tile_offsets(mask, n, &tiles);
  tile_apply<true><<<static_cast<unsigned>(tiles), kThreads, 0, cuda::stream()>>>(y, x, mask, off, n);
  IM_CUDA_LAUNCH_CHECK();
}

void masked_select_backward_cuda(float* dx, const float* dy, const float* mask, int64_t n) {
  if (n == 0) return;
  int64_t tiles = 0;
  const long long* off = tile_offsets(mask, n, &tiles);
  tile_apply<false><<<static_cast<unsigned>(tiles), kThreads, 0, cuda::stream()>>>(dx, dy, mask, off, n);
  IM_CUDA_LAUNCH_CHECK();
}

}  // namespace im
