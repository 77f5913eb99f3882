// Philox 4x32-10 counter-based RNG (Salmon et al. 2011, as in Random123), identical on host and
// device: the value of element i of a draw depends only on (seed, draw offset, i).
#pragma once
#include <cstdint>

#if defined(__CUDACC__)
#define IM_HD __host__ __device__ __forceinline__
#else
#define IM_HD inline
#endif

namespace im::philox {

struct U4 {
  uint32_t x[4];
};

IM_HD uint32_t mulhilo(uint32_t a, uint32_t b, uint32_t* hi) {
  uint64_t p = static_cast<uint64_t>(a) * b;
  *hi = static_cast<uint32_t>(p >> 32);
  return static_cast<uint32_t>(p);
}

// Four 32-bit words for counter (block, offset) under key seed.
IM_HD U4 block(uint64_t seed, uint64_t offset, uint64_t blk) {
  uint32_t c0 = static_cast<uint32_t>(blk), c1 = static_cast<uint32_t>(blk >> 32);
  uint32_t c2 = static_cast<uint32_t>(offset), c3 = static_cast<uint32_t>(offset >> 32);
  uint32_t k0 = static_cast<uint32_t>(seed), k1 = static_cast<uint32_t>(seed >> 32);
  for (int r = 0; r < 10; ++r) {
    uint32_t hi0, hi1;
    uint32_t lo0 = mulhilo(0xD2511F53u, c0, &hi0);
    uint32_t lo1 = mulhilo(0xCD9E8D57u, c2, &hi1);
    uint32_t n0 = hi1 ^ c1 ^ k0, n2 = hi0 ^ c3 ^ k1;
    c0 = n0;
    c1 = lo1;
    c2 = n2;
    c3 = lo0;
    k0 += 0x9E3779B9u;
    k1 += 0xBB67AE85u;
  }
  return U4{{c0, c1, c2, c3}};
}

// Uniform in [0, 1) with 24 random bits (exactly representable in float).
IM_HD float to_unit(uint32_t w) { return static_cast<float>(w >> 8) * (1.0f / 16777216.0f); }

// Element i of a uniform draw.
IM_HD float uniform(uint64_t seed, uint64_t offset, uint64_t i) {
  U4 b = block(seed, offset, i >> 2);
  return to_unit(b.x[i & 3]);
}

// Element i of a standard normal draw: Box-Muller on the word pair (2p, 2p+1) of block i/4, cos for
// even i, sin for odd i. Computed in double so that host and device round to the same float.
IM_HD float normal(uint64_t seed, uint64_t offset, uint64_t i) {
  U4 b = block(seed, offset, i >> 2);
  int p = static_cast<int>((i & 3) >> 1);
  double u1 = (static_cast<double>(b.x[2 * p] >> 8) + 1.0) * (1.0 / 16777216.0);  // (0, 1]
  double u2 = static_cast<double>(b.x[2 * p + 1] >> 8) * (1.0 / 16777216.0);
  double r = sqrt(-2.0 * log(u1));
  double a = 6.283185307179586476925 * u2;
  return static_cast<float>((i & 1) ? r * sin(a) : r * cos(a));
}

}  // namespace im::philox
