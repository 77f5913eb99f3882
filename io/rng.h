// A small, portable random generator (xoshiro256**) and seed mixing: the same numbers on every
// platform and standard library, so seeded data (batches, simulated sites) are reproducible.
#pragma once
#include <cmath>
#include <cstdint>
#include <string>

namespace im::io {

inline uint64_t splitmix64(uint64_t& state) {
  uint64_t z = (state += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

// Combines seeds: mix(seed, batch index), mix(seed, hash_string(site)), ...
inline uint64_t mix(uint64_t a, uint64_t b) {
  uint64_t s = a ^ (b * 0x9e3779b97f4a7c15ull + 0x632be59bd9b4e019ull);
  splitmix64(s);
  return splitmix64(s);
}

inline uint64_t hash_string(const std::string& s) {  // FNV-1a
  uint64_t h = 0xcbf29ce484222325ull;
  for (unsigned char c : s) h = (h ^ c) * 0x100000001b3ull;
  return h;
}

class Rng {
 public:
  explicit Rng(uint64_t seed) {
    for (auto& w : s_) w = splitmix64(seed);
  }
  uint64_t next() {
    const uint64_t r = rotl(s_[1] * 5, 7) * 9, t = s_[1] << 17;
    s_[2] ^= s_[0], s_[3] ^= s_[1], s_[1] ^= s_[2], s_[0] ^= s_[3], s_[2] ^= t, s_[3] = rotl(s_[3], 45);
    return r;
  }
  double uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }  // [0, 1)
  // Uniform integer in [0, n), n > 0 (rejection keeps it unbiased).
  uint64_t below(uint64_t n) {
    const uint64_t limit = UINT64_MAX - UINT64_MAX % n;
    uint64_t x;
    do x = next();
    while (x >= limit);
    return x % n;
  }
  double normal() {  // Box-Muller; the second value is kept for the next call
    if (has_spare_) {
      has_spare_ = false;
      return spare_;
    }
    double u;
    do u = uniform();
    while (u <= 0);
    const double r = std::sqrt(-2 * std::log(u)), t = 6.283185307179586 * uniform();
    spare_ = r * std::sin(t), has_spare_ = true;
    return r * std::cos(t);
  }

 private:
  static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  uint64_t s_[4];
  double spare_ = 0;
  bool has_spare_ = false;
};

}  // namespace im::io
