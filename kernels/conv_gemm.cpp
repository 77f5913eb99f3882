// im2col + packed GEMM drivers for the three convolution products (CPU). The weights are packed
// once per call and shared by every task; tasks (images, bands of output rows, groups of them
// for the weight gradient) are fixed by the shapes, never by the thread count, and each runs
// single-threaded GEMMs, so results are deterministic.
#include "kernels/conv_gemm.h"

#include <omp.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>

#include "kernels/check.h"
#include "kernels/gemm_cpu.h"

namespace im {

namespace {
// Floats in the patch matrix of one band (the data gradient's col buffer: K x cols stays in L2).
constexpr int64_t kBandFloats = 1 << 17;
// The weight gradient sums its partial products in this many fixed groups of bands.
constexpr int64_t kWeightGroups = 8;
// The stride-1 data gradient runs as a convolution when x has this many channels (the GEMM's
// rows; below, 6-row register tiles would be mostly empty and col2im is cheaper).
constexpr int64_t kFlipMinChannels = 6;
// Depth (columns) the weight gradient's GEMM aims for when images are small.
constexpr int64_t kDepth = 256;

// Bands of output rows of equal height whose column matrix fits kBandFloats.
struct Bands {
  int64_t rows = 1, count = 1;
};
Bands bands(const ConvGeometry& g) {
  const int64_t fit = std::clamp<int64_t>(kBandFloats / std::max<int64_t>(1, g.K() * g.wo), 1, g.ho);
  Bands b;
  b.count = (g.ho + fit - 1) / fit;
  b.rows = (g.ho + b.count - 1) / b.count;
  b.count = (g.ho + b.rows - 1) / b.rows;
  return b;
}

// Small convolutions (tests, tiny layers) run on one thread: waking the team costs more.
bool worth_threads(const ConvGeometry& g) { return g.n * g.o * g.K() * g.P() > (int64_t(1) << 18); }

// Uninitialized floats, 64-byte aligned, owned by one call (packed weights, patch buffers, partial
// sums). Freed blocks of the same sizes are reused by malloc on the next call.
class Buffer {
 public:
  explicit Buffer(int64_t n) {
    if (n <= 0) return;
    const size_t bytes = (sizeof(float) * static_cast<size_t>(n) + 63) / 64 * 64;
    p_ = static_cast<float*>(std::aligned_alloc(64, bytes));
    IM_CHECK(p_, "conv: out of memory for " << (bytes >> 20) << " MiB of scratch");
  }
  ~Buffer() { std::free(p_); }
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;
  float* data() const { return p_; }

 private:
  float* p_ = nullptr;
};

// Scratch for every thread: thread t owns [t * per, (t + 1) * per).
struct Scratch {
  int64_t per = 0;
  Buffer b;
  explicit Scratch(int64_t per_thread) : per(per_thread), b(per > 0 ? per * omp_get_max_threads() : 0) {}
  float* mine() const { return per > 0 ? b.data() + per * omp_get_thread_num() : nullptr; }
};
}  // namespace

void conv_gemm_forward(float* y, const float* x, const float* w, const float* bias, const ConvGeometry& g,
                       bool accumulate) {
  const int64_t K = g.K(), P = g.P(), O = g.o, X = g.c * g.h * g.w;
  const Bands b = bands(g);
  Buffer wpack(packed_a_size(O, K));
  const PackedA W = pack_a(wpack.data(), MatView{w, K, 1}, O, K);
#pragma omp parallel for schedule(static) if (worth_threads(g))
  for (int64_t t = 0; t < g.n * b.count; ++t) {
    const int64_t img = t / b.count, y0 = (t % b.count) * b.rows, y1 = std::min(g.ho, y0 + b.rows);
    const int64_t cols = (y1 - y0) * g.wo;
    float* yb = y + img * O * P + y0 * g.wo;
    if (bias && !accumulate)
      for (int64_t o = 0; o < O; ++o) std::fill(yb + o * P, yb + o * P + cols, bias[o]);
    if (g.pointwise())
      gemm(W, MatView{x + img * X + y0 * g.wo, P, 1}, cols, yb, P, accumulate || bias);
    else
      gemm(W, Patches(x + img * X, g, y0, y1), cols, yb, P, accumulate || bias);
  }
}

void conv_gemm_backward_data(float* x, const float* y, const float* w, const float* bias, const ConvGeometry& g,
                             bool accumulate) {
  if (g.s == 1 && g.k > 1 && g.c >= kFlipMinChannels) {
    // At stride 1 the adjoint is itself a convolution, of y with the weights transposed and
    // flipped: it writes x directly, without the col buffer and col2im.
    const int64_t k = g.k, kk = k * k;
    Buffer flipped(g.c * g.o * k * k);
    float* f = flipped.data();
    for (int64_t c = 0; c < g.c; ++c)
      for (int64_t o = 0; o < g.o; ++o)
        for (int64_t t = 0; t < kk; ++t) f[(c * g.o + o) * kk + t] = w[(o * g.c + c) * kk + (kk - 1 - t)];
    conv_gemm_forward(x, y, f, bias, conv_geometry(g.n, g.o, g.ho, g.wo, g.c, k, 1), accumulate);
    return;
  }
  const int64_t K = g.K(), P = g.P(), O = g.o, X = g.c * g.h * g.w;
  const Bands b = bands(g);
  Buffer wpack(packed_a_size(K, O));
  const PackedA Wt = pack_a(wpack.data(), MatView{w, 1, K}, K, O);  // W^T [K x O]
  Scratch scratch(g.pointwise() ? 0 : K * b.rows * g.wo);
  // One task per image: the bands of an image overlap in x (col2im adds across band edges).
#pragma omp parallel if (worth_threads(g))
  {
    float* col = scratch.mine();
#pragma omp for schedule(static)
    for (int64_t img = 0; img < g.n; ++img) {
      float* xi = x + img * X;
      const float* yi = y + img * O * P;
      if (!accumulate) {
        if (bias)
          fill_channel_bias(xi, bias, g.c, g.h * g.w);
        else if (!g.pointwise())
          std::memset(xi, 0, sizeof(float) * X);
      }
      if (g.pointwise()) {
        gemm(Wt, MatView{yi, P, 1}, P, xi, P, accumulate || bias);
        continue;
      }
      for (int64_t y0 = 0; y0 < g.ho; y0 += b.rows) {
        const int64_t y1 = std::min(g.ho, y0 + b.rows), cols = (y1 - y0) * g.wo;
        gemm(Wt, MatView{yi + y0 * g.wo, P, 1}, cols, col, cols, false);
        col2im_add(xi, col, cols, g, y0, y1);
      }
    }
  }
}

void conv_gemm_backward_weight(float* dw, const float* x, const float* y, const ConvGeometry& g) {
  const int64_t K = g.K(), P = g.P(), O = g.o, X = g.c * g.h * g.w;
  const Bands b = bands(g);
  const int64_t per_chunk = b.count > 1 ? 1 : std::clamp<int64_t>(kDepth / P, 1, g.n);
  const int64_t nchunks = b.count > 1 ? g.n * b.count : (g.n + per_chunk - 1) / per_chunk;
  const int64_t max_cols = b.count > 1 ? b.rows * g.wo : per_chunk * P;
  const int64_t groups = std::min(nchunks, kWeightGroups);
  Buffer partial(groups * O * K);
  Scratch scratch(packed_a_size(O, max_cols) + (per_chunk > 1 ? O * max_cols : 0));
#pragma omp parallel if (worth_threads(g))
  {
    float* apack = scratch.mine();
    float* dyc = apack + packed_a_size(O, max_cols);
#pragma omp for schedule(static)
    for (int64_t gi = 0; gi < groups; ++gi) {
      float* D = partial.data() + gi * O * K;
      const int64_t c0 = gi * nchunks / groups, c1 = (gi + 1) * nchunks / groups;
      for (int64_t ch = c0; ch < c1; ++ch) {
        const int64_t i0 = b.count > 1 ? ch / b.count : ch * per_chunk;
        const int64_t i1 = b.count > 1 ? i0 + 1 : std::min(g.n, i0 + per_chunk);
        const int64_t y0 = b.count > 1 ? (ch % b.count) * b.rows : 0, y1 = std::min(g.ho, y0 + b.rows);
        const int64_t cols = (i1 - i0) * (y1 - y0) * g.wo;
        MatView dy{y + i0 * O * P + y0 * g.wo, P, 1};
        if (i1 - i0 > 1) {  // several whole images: their dy side by side
          for (int64_t i = i0; i < i1; ++i)
            for (int64_t o = 0; o < O; ++o)
              std::memcpy(dyc + o * cols + (i - i0) * P, y + (i * O + o) * P, sizeof(float) * P);
          dy = MatView{dyc, cols, 1};
        }
        const PackedA A = pack_a(apack, dy, O, cols);
        gemm(A, PatchesT(x + i0 * X, g, y0, y1), K, D, K, ch > c0);
      }
    }
#pragma omp for schedule(static)
    for (int64_t e = 0; e < O * K; ++e) {
      float acc = 0.f;
      for (int64_t gi = 0; gi < groups; ++gi) acc += partial.data()[gi * O * K + e];
      dw[e] += acc;
    }
  }
}
}  // namespace im
