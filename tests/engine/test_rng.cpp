// Philox 4x32-10 against the Random123 known-answer vectors, and the uniform/normal draws.
#include <catch2/catch.hpp>

#include <cmath>

#include "engine/rng.h"
#include "kernels/philox.h"

using namespace im;

namespace {
// philox4x32_10(counter, key) through our block() layout: counter = (blk lo, blk hi, off lo, off hi).
philox::U4 philox_kat(uint32_t c0, uint32_t c1, uint32_t c2, uint32_t c3, uint32_t k0, uint32_t k1) {
  uint64_t blk = (static_cast<uint64_t>(c1) << 32) | c0, off = (static_cast<uint64_t>(c3) << 32) | c2;
  uint64_t seed = (static_cast<uint64_t>(k1) << 32) | k0;
  return philox::block(seed, off, blk);
}
}  // namespace

TEST_CASE("rng: Philox 4x32-10 matches the Random123 known-answer tests") {
  // kat_vectors from Random123 1.09 (philox4x32 10 rounds).
  philox::U4 a = philox_kat(0, 0, 0, 0, 0, 0);
  CHECK(a.x[0] == 0x6627e8d5u);
  CHECK(a.x[1] == 0xe169c58du);
  CHECK(a.x[2] == 0xbc57ac4cu);
  CHECK(a.x[3] == 0x9b00dbd8u);
  philox::U4 b = philox_kat(0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu);
  CHECK(b.x[0] == 0x408f276du);
  CHECK(b.x[1] == 0x41c83b0eu);
  CHECK(b.x[2] == 0xa20bc7c6u);
  CHECK(b.x[3] == 0x6d5451fdu);
  philox::U4 c = philox_kat(0x243f6a88u, 0x85a308d3u, 0x13198a2eu, 0x03707344u, 0xa4093822u, 0x299f31d0u);
  CHECK(c.x[0] == 0xd16cfe09u);
  CHECK(c.x[1] == 0x94fdccebu);
  CHECK(c.x[2] == 0x5001e420u);
  CHECK(c.x[3] == 0x24126ea1u);
}

TEST_CASE("rng: draws are reproducible, advance the offset, and have the right moments") {
  Generator g1(42), g2(42);
  std::vector<float> u1 = rand_uniform({10000}, g1, Device::CPU).to_vector();
  std::vector<float> u2 = rand_uniform({10000}, g2, Device::CPU).to_vector();
  CHECK(u1 == u2);
  CHECK(g1.offset == 1);
  std::vector<float> u3 = rand_uniform({10000}, g1, Device::CPU).to_vector();
  CHECK(u3 != u1);
  double m = 0;
  for (float v : u1) {
    CHECK(v >= 0.f);
    CHECK(v < 1.f);
    m += v;
  }
  CHECK(std::fabs(m / u1.size() - 0.5) < 0.01);

  Generator g(3);
  std::vector<float> z = rand_normal({200000}, g, Device::CPU, 1.f, 2.f).to_vector();
  double s = 0, s2 = 0;
  for (float v : z) {
    s += v;
    s2 += (v - 1.0) * (v - 1.0);
  }
  CHECK(std::fabs(s / z.size() - 1.0) < 0.02);
  CHECK(std::fabs(std::sqrt(s2 / z.size()) - 2.0) < 0.02);
}

TEST_CASE("rng: element i does not depend on how many elements are drawn") {
  Generator a(5), b(5);
  std::vector<float> small = rand_normal({7}, a, Device::CPU).to_vector();
  std::vector<float> big = rand_normal({1000}, b, Device::CPU).to_vector();
  for (size_t i = 0; i < small.size(); ++i) CHECK(small[i] == big[i]);
}
