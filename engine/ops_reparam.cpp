// Autograd wrapper of the reparameterization trick (engine/ops.h; kernels in kernels/reparam).
#include "engine/autograd.h"
#include "engine/dispatch.h"
#include "engine/op_checks.h"
#include "engine/ops.h"
#include "engine/rng.h"
#include "kernels/reparam.h"

namespace im {

Tensor reparameterize(const Tensor& mu, const Tensor& logvar, Generator& gen, Tensor* eps_out) {
  opcheck::same("reparameterize", "mu", mu, "logvar", logvar);
  const uint64_t seed = gen.seed, offset = gen.next();
  const bool grad = autograd::needs_grad({&mu, &logvar});
  Tensor z = Tensor::empty_like(mu);
  Tensor eps;
  if (grad || eps_out) eps = Tensor::empty_like(mu);
  IM_DISPATCH(mu.device(), reparameterize_forward_cpu, reparameterize_forward_cuda, z.data(),
              eps.defined() ? eps.data() : nullptr, mu.data(), logvar.data(), mu.numel(), seed, offset);
  if (eps_out) *eps_out = eps;
  if (grad) {
    autograd::record("reparameterize", {z}, [mu, logvar, eps, z] {
      IM_DISPATCH(mu.device(), reparameterize_backward_cpu, reparameterize_backward_cuda, opcheck::grad_or_null(mu),
                  opcheck::grad_or_null(logvar), z.grad().data(), eps.data(), logvar.data(), mu.numel());
    });
  }
  return z;
}

}  // namespace im
