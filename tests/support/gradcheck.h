// Finite-difference gradient checks and CPU-vs-CUDA parity checks for engine ops.
#pragma once
#include <cmath>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "engine/tensor.h"

namespace im::test {

using OpFn = std::function<Tensor(const std::vector<Tensor>&)>;

struct GradCheckOptions {
  double eps = 1e-2;    // finite-difference step (inputs are O(1))
  double rtol = 1e-2;   // ||analytic - numeric|| / ||numeric||
  double elem_atol = 2e-3, elem_rtol = 5e-2;  // per element
  uint64_t seed = 7;    // weights of the scalar reduction
};

// Compares autograd's gradients of L = sum(w * f(inputs)) (w fixed random weights, L summed in
// double) with central differences, for every CPU input that requires a gradient. Fails the current
// Catch2 test with the worst element on mismatch.
void check_gradients(const OpFn& f, const std::vector<Tensor>& inputs, const GradCheckOptions& opt = {},
                     const std::string& what = "");

// Random CPU tensor with values uniform in [lo, hi) (Philox, seeded).
Tensor random_tensor(const Shape& shape, uint64_t seed, float lo = -1.f, float hi = 1.f);
// Random CPU 0/1 mask, each element 1 with probability p_one (Philox, seeded).
Tensor random_mask(const Shape& shape, uint64_t seed, float p_one);

// ||a - b|| / max(||b||, 1e-30), in double.
double rel_error(const std::vector<float>& a, const std::vector<float>& b);

// Unit roundoff of float32: every rounded operation is off by at most this much, relatively.
constexpr double kFloatRoundoff = 0x1p-24;
// The rel_error to allow a float32 result against an exact (double) reference, when each element is
// a sum of `terms` terms, rounded `stages` times in sequence (layers). A sum rounded at every step is
// off by about u sqrt(n) of its size: the roundings have either sign and add up like a random walk
// (Higham and Mary, "A new approach to probabilistic rounding error analysis", SIAM J. Sci. Comput.
// 2019), in any order and blocking, with or without fused multiply-adds: that is where the CPU kernel
// paths and compilers differ. Independent stages add up the same way. The factor 4 is the walk's
// tail, which a norm over few elements does not average out, and the rounding of the inputs.
inline double fp32_rtol(double terms, double stages = 1) {
  return 4 * std::sqrt(stages * terms) * kFloatRoundoff;
}

// The element of a farthest from b, relative to max(|b_i|, rms(b)) (so that elements near zero are
// measured on the tensor's scale); a NaN in a is infinitely far.
struct ElementError {
  double error = 0;
  size_t index = 0;
  float got = 0, want = 0;
};
ElementError worst_element(const std::vector<float>& a, const std::vector<float>& b);
// Fails the current test unless a agrees with b in norm, rel_error < tol, and per element,
// worst_element < elem_factor * tol; the message names the worst element.
void check_close(const std::vector<float>& a, const std::vector<float>& b, double tol, const std::string& what,
                 double elem_factor = 20);

// Runs f on CPU inputs and on CUDA copies of them, with a backward seeded by the same random
// weights, and requires the outputs and every input gradient to agree in norm, ||a-b||/||b|| < tol,
// and per element, worst_element < elem_factor * tol (an error confined to a few elements hardly
// moves the norm).
void check_parity(const OpFn& f, const std::vector<Tensor>& cpu_inputs, double tol = 1e-4, const std::string& what = "",
                  double elem_factor = 20);

}  // namespace im::test
