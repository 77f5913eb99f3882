// Elementwise add/sub/mul with NumPy broadcasting, their reducing backward, and the scalar affine
// map. Shapes are described by a Broadcast: the output index space (adjacent dimensions merged
// where every operand allows it) and each operand's element strides over it, 0 where broadcast.
#pragma once
#include <cstdint>

#if defined(__CUDACC__)
#define IM_BCAST_HD __host__ __device__
#else
#define IM_BCAST_HD
#endif

namespace im {

constexpr int kBcastDims = 5;

enum class BinaryOp : int { Add = 0, Sub = 1, Mul = 2 };

struct Broadcast {
  int nd = 0;
  int64_t numel = 0;
  int64_t dims[kBcastDims] = {};
  int64_t sa[kBcastDims] = {};  // strides of operand a over dims (0 where a is broadcast)
  int64_t sb[kBcastDims] = {};  // strides of operand b
};

inline Broadcast swap_operands(Broadcast bc) {
  for (int k = 0; k < bc.nd; ++k) {
    int64_t t = bc.sa[k];
    bc.sa[k] = bc.sb[k];
    bc.sb[k] = t;
  }
  return bc;
}

// Splits the index space of bc into the dimensions where a is kept (sa != 0) and those where it is
// broadcast, i.e. summed over in a's gradient. In both results sa holds the output's strides and
// sb operand b's strides. Since a is contiguous, a's element j is the kept multi-index j.
inline void split_for_reduction(const Broadcast& bc, Broadcast* kept, Broadcast* reduced) {
  *kept = Broadcast{};
  *reduced = Broadcast{};
  kept->numel = reduced->numel = 1;
  int64_t so = 1;
  int64_t so_of[kBcastDims];
  for (int k = bc.nd - 1; k >= 0; --k) {
    so_of[k] = so;
    so *= bc.dims[k];
  }
  for (int k = 0; k < bc.nd; ++k) {
    Broadcast* t = bc.sa[k] != 0 ? kept : reduced;
    t->dims[t->nd] = bc.dims[k];
    t->sa[t->nd] = so_of[k];
    t->sb[t->nd] = bc.sb[k];
    t->nd += 1;
    t->numel *= bc.dims[k];
  }
}

// Offsets into two arrays of the multi-index idx over (nd, dims), strides s0 and s1.
template <typename I>
IM_BCAST_HD inline void bcast_offsets(I idx, int nd, const int64_t* dims, const int64_t* s0, const int64_t* s1,
                                      I& o0, I& o1) {
  o0 = 0;
  o1 = 0;
  for (int k = nd - 1; k >= 0; --k) {
    I d = static_cast<I>(dims[k]);
    I q = idx / d;
    I r = idx - q * d;
    o0 += r * static_cast<I>(s0[k]);
    o1 += r * static_cast<I>(s1[k]);
    idx = q;
  }
}

// y = a op b over the broadcast index space (y is contiguous with bc.numel elements).
void binary_forward_cpu(float* y, const float* a, const float* b, const Broadcast& bc, BinaryOp op);
void binary_forward_cuda(float* y, const float* a, const float* b, const Broadcast& bc, BinaryOp op);

// Gradient of operand a: ga += alpha * (sum over a's broadcast dims of dy * b), with b = 1 when
// b is null. Add/sub use b = null and alpha = +-1; mul passes the other operand.
void binary_backward_cpu(float* ga, const float* dy, const float* b, const Broadcast& bc, float alpha);
void binary_backward_cuda(float* ga, const float* dy, const float* b, const Broadcast& bc, float alpha);

// y = scale * x + shift (add_scalar, mul_scalar); the backward is elementwise add_inplace.
void affine_forward_cpu(float* y, const float* x, int64_t n, float scale, float shift);
void affine_forward_cuda(float* y, const float* x, int64_t n, float scale, float shift);

}  // namespace im
