// Generator: a Philox (seed, offset) pair; each draw takes the next offset, so a run is reproducible
// from its seed and resumable from (seed, offset).
#pragma once
#include <cstdint>

#include "engine/tensor.h"

namespace im {

struct Generator {
  uint64_t seed = 0;
  uint64_t offset = 0;
  explicit Generator(uint64_t s = 0, uint64_t o = 0) : seed(s), offset(o) {}
  uint64_t next() { return offset++; }
};

Tensor rand_uniform(const Shape& shape, Generator& gen, Device dev, float lo = 0.f, float hi = 1.f);
Tensor rand_normal(const Shape& shape, Generator& gen, Device dev, float mean = 0.f, float stddev = 1.f);
void fill_uniform(Tensor& t, Generator& gen, float lo = 0.f, float hi = 1.f);
void fill_normal(Tensor& t, Generator& gen, float mean = 0.f, float stddev = 1.f);

}  // namespace im
