// Seeded tensor draws on either device.
#include "engine/rng.h"

#include "engine/dispatch.h"
#include "kernels/random.h"

namespace im {

void fill_uniform(Tensor& t, Generator& gen, float lo, float hi) {
  IM_DISPATCH(t.device(), random_uniform_cpu, random_uniform_cuda, t.data(), t.numel(), gen.seed, gen.next(), lo, hi);
}

void fill_normal(Tensor& t, Generator& gen, float mean, float stddev) {
  IM_DISPATCH(t.device(), random_normal_cpu, random_normal_cuda, t.data(), t.numel(), gen.seed, gen.next(), mean,
              stddev);
}

Tensor rand_uniform(const Shape& shape, Generator& gen, Device dev, float lo, float hi) {
  Tensor t = Tensor::empty(shape, dev);
  fill_uniform(t, gen, lo, hi);
  return t;
}

Tensor rand_normal(const Shape& shape, Generator& gen, Device dev, float mean, float stddev) {
  Tensor t = Tensor::empty(shape, dev);
  fill_normal(t, gen, mean, stddev);
  return t;
}

}  // namespace im
