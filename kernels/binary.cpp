// CPU twins of kernels/binary.cu: broadcast elementwise ops and their deterministic reducing backward.
#include "kernels/binary.h"

#include <cstddef>
#include <vector>

#include "kernels/ordered_sum.h"
#include "kernels/parallel.h"

namespace im {

namespace {

template <BinaryOp op>
inline float apply(float x, float y) {
  if constexpr (op == BinaryOp::Add) return x + y;
  if constexpr (op == BinaryOp::Sub) return x - y;
  return x * y;
}

// One innermost row; the operand strides there are 0 (broadcast) or 1, so the compiler gets
// three contiguous loops to vectorize.
template <BinaryOp op>
void forward_row(float* y, const float* a, int64_t sa, const float* b, int64_t sb, int64_t n) {
  if (sa && sb) {
#pragma omp simd
    for (int64_t i = 0; i < n; ++i) y[i] = apply<op>(a[i], b[i]);
  } else if (sa) {
    const float bv = *b;
#pragma omp simd
    for (int64_t i = 0; i < n; ++i) y[i] = apply<op>(a[i], bv);
  } else if (sb) {
    const float av = *a;
#pragma omp simd
    for (int64_t i = 0; i < n; ++i) y[i] = apply<op>(av, b[i]);
  } else {
    const float v = apply<op>(*a, *b);
    for (int64_t i = 0; i < n; ++i) y[i] = v;
  }
}

template <BinaryOp op>
void forward_impl(float* y, const float* a, const float* b, const Broadcast& bc) {
  const int last = bc.nd - 1;
  const int64_t inner = bc.dims[last];
  const int64_t rows = bc.numel / inner;
#pragma omp parallel for schedule(static) if (bc.numel > kParallelGrain)
  for (int64_t r = 0; r < rows; ++r) {
    int64_t oa, ob;
    bcast_offsets<int64_t>(r, last, bc.dims, bc.sa, bc.sb, oa, ob);
    forward_row<op>(y + r * inner, a + oa, bc.sa[last], b + ob, bc.sb[last], inner);
  }
}

// Sum over the reduced index range [r0, r1) of dy[o] * b[ob] (b null: 1), in order, in double.
// base_o / base_b: offsets of the kept index; red.sa / red.sb: output / b strides.
double reduce_range(const Broadcast& red, const float* dy, const float* b, int64_t base_o, int64_t base_b,
                    int64_t r0, int64_t r1) {
  const int last = red.nd - 1;
  const int64_t inner = red.dims[last], so = red.sa[last], sb = red.sb[last];
  double acc = 0;
  int64_t r = r0;
  while (r < r1) {
    int64_t row = r / inner, col = r - row * inner;
    int64_t oo, ob;
    bcast_offsets<int64_t>(row, last, red.dims, red.sa, red.sb, oo, ob);
    const float* d = dy + base_o + oo + col * so;
    int64_t len = inner - col < r1 - r ? inner - col : r1 - r;
    if (b) {
      const float* bb = b + base_b + ob + col * sb;
      acc += ordered_sum(len, [=](int64_t i) { return static_cast<double>(d[i * so]) * bb[i * sb]; });
    } else {
      acc += ordered_sum(len, [=](int64_t i) { return static_cast<double>(d[i * so]); });
    }
    r += len;
  }
  return acc;
}

}  // namespace

void binary_forward_cpu(float* y, const float* a, const float* b, const Broadcast& bc, BinaryOp op) {
  if (bc.numel == 0) return;
  switch (op) {
    case BinaryOp::Add: forward_impl<BinaryOp::Add>(y, a, b, bc); break;
    case BinaryOp::Sub: forward_impl<BinaryOp::Sub>(y, a, b, bc); break;
    case BinaryOp::Mul: forward_impl<BinaryOp::Mul>(y, a, b, bc); break;
  }
}

void binary_backward_cpu(float* ga, const float* dy, const float* b, const Broadcast& bc, float alpha) {
  if (bc.numel == 0) return;
  Broadcast kept, red;
  split_for_reduction(bc, &kept, &red);
  if (red.numel == 1) {
    // a has the output's shape: an elementwise update, b possibly broadcast.
    const int last = bc.nd - 1;
    const int64_t inner = bc.dims[last];
    const int64_t rows = bc.numel / inner;
#pragma omp parallel for schedule(static) if (bc.numel > kParallelGrain)
    for (int64_t r = 0; r < rows; ++r) {
      int64_t oa, ob;
      bcast_offsets<int64_t>(r, last, bc.dims, bc.sa, bc.sb, oa, ob);
      float* g = ga + oa;
      const float* d = dy + r * inner;
      if (!b) {
#pragma omp simd
        for (int64_t i = 0; i < inner; ++i) g[i] += alpha * d[i];
      } else {
        const float* bb = b + ob;
        const int64_t s = bc.sb[last];
        for (int64_t i = 0; i < inner; ++i) g[i] += alpha * d[i] * bb[i * s];
      }
    }
    return;
  }
  // Each element of a sums its broadcast positions in a fixed order. With few elements the sum is
  // split into fixed chunks (summed in parallel, then in order), so the result never depends on
  // the thread count.
  const int64_t G = kept.numel, R = red.numel;
  if (G >= 64 || R <= kReduceChunk) {
#pragma omp parallel for schedule(static) if (G * R > kParallelGrain)
    for (int64_t j = 0; j < G; ++j) {
      int64_t oo, ob;
      bcast_offsets<int64_t>(j, kept.nd, kept.dims, kept.sa, kept.sb, oo, ob);
      ga[j] += alpha * static_cast<float>(reduce_range(red, dy, b, oo, ob, 0, R));
    }
    return;
  }
  const int64_t chunks = (R + kReduceChunk - 1) / kReduceChunk;
  std::vector<double> part(static_cast<size_t>(G * chunks));
#pragma omp parallel for schedule(static) if (G * R > kParallelGrain)
  for (int64_t t = 0; t < G * chunks; ++t) {
    const int64_t j = t / chunks, c = t % chunks;
    int64_t oo, ob;
    bcast_offsets<int64_t>(j, kept.nd, kept.dims, kept.sa, kept.sb, oo, ob);
    const int64_t r1 = (c + 1) * kReduceChunk < R ? (c + 1) * kReduceChunk : R;
    part[t] = reduce_range(red, dy, b, oo, ob, c * kReduceChunk, r1);
  }
  for (int64_t j = 0; j < G; ++j) {
    double s = 0;
    for (int64_t c = 0; c < chunks; ++c) s += part[j * chunks + c];
    ga[j] += alpha * static_cast<float>(s);
  }
}

void affine_forward_cpu(float* y, const float* x, int64_t n, float scale, float shift) {
#pragma omp parallel for simd schedule(static) if (n > kParallelGrain)
  for (int64_t i = 0; i < n; ++i) y[i] = scale * x[i] + shift;
}

}  // namespace im
