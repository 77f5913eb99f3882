// CPU dense layer on Eigen row-major maps. Eigen threads a GEMM by itself and then chooses its
// depth blocking from the thread count, so the rounding would change with it. Here Eigen always runs
// single-threaded on fixed tiles of the result: OpenMP spreads the tiles of large products (Eigen
// stays serial inside a team), and small products run on the calling thread with its OpenMP thread
// count set to 1 for the call.
#include "kernels/linear.h"

#include <omp.h>

// Eigen 3.4's AVX-512 GEMM (AVX512/PacketMath.h: pload1, ploadquad, ptranspose) draws
// -Wmaybe-uninitialized from GCC 12 inside avx512fintrin.h when built with AVX-512 (IMUNITY_NATIVE on
// such a CPU, or IMUNITY_ARCH=x86-64-v4). GCC reports it where the intrinsics are inlined into our
// code, so Eigen being a SYSTEM include does not hide it: the pragma covers Eigen's headers only.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <Eigen/Core>
#pragma GCC diagnostic pop

#include "kernels/parallel.h"

namespace im {

namespace {

using RowMat = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using CMap = Eigen::Map<const RowMat>;
using MMap = Eigen::Map<RowMat>;

constexpr int64_t kTileRows = 128, kTileCols = 256;
// Multiply-adds below which a team costs more than it saves.
constexpr int64_t kTeamWork = 1 << 22;

class SerialEigen {
 public:
  SerialEigen() : prev_(omp_get_max_threads()) { omp_set_num_threads(1); }
  ~SerialEigen() { omp_set_num_threads(prev_); }
  SerialEigen(const SerialEigen&) = delete;
  SerialEigen& operator=(const SerialEigen&) = delete;

 private:
  int prev_;
};

// Calls f(r0, rows, c0, cols) for every tile of an M x K result with reduction depth `depth`.
template <typename F>
void for_tiles(int64_t M, int64_t K, int64_t depth, F f) {
  const int64_t tm = (M + kTileRows - 1) / kTileRows, tk = (K + kTileCols - 1) / kTileCols;
  const int64_t tiles = tm * tk;
  auto tile = [&](int64_t t) {
    const int64_t r0 = (t / tk) * kTileRows, c0 = (t % tk) * kTileCols;
    const int64_t rows = M - r0 < kTileRows ? M - r0 : kTileRows;
    const int64_t cols = K - c0 < kTileCols ? K - c0 : kTileCols;
    f(r0, rows, c0, cols);
  };
  if (tiles == 1 || M * K * depth < kTeamWork || omp_get_max_threads() == 1) {
    SerialEigen serial;
    for (int64_t t = 0; t < tiles; ++t) tile(t);
    return;
  }
#pragma omp parallel for schedule(dynamic)
  for (int64_t t = 0; t < tiles; ++t) tile(t);
}

}  // namespace

void linear_forward_cpu(float* y, const float* x, const float* w, const float* bias, int64_t N, int64_t in, int64_t out) {
  if (N == 0 || out == 0) return;
  CMap X(x, N, in), W(w, out, in);
  MMap Y(y, N, out);
  for_tiles(N, out, in, [&](int64_t r0, int64_t rows, int64_t c0, int64_t cols) {
    auto Yt = Y.block(r0, c0, rows, cols);
    Yt.noalias() = X.middleRows(r0, rows) * W.middleRows(c0, cols).transpose();
    if (bias) Yt.rowwise() += Eigen::Map<const Eigen::RowVectorXf>(bias + c0, cols);
  });
}

void linear_backward_cpu(float* dx, float* dw, float* db, const float* dy, const float* x, const float* w, int64_t N,
                         int64_t in, int64_t out) {
  CMap DY(dy, N, out), X(x, N, in), W(w, out, in);
  if (dx) {
    MMap DX(dx, N, in);
    for_tiles(N, in, out, [&](int64_t r0, int64_t rows, int64_t c0, int64_t cols) {
      auto T = DX.block(r0, c0, rows, cols);
      T.noalias() += DY.middleRows(r0, rows) * W.middleCols(c0, cols);
    });
  }
  if (dw) {
    MMap DW(dw, out, in);
    for_tiles(out, in, N, [&](int64_t r0, int64_t rows, int64_t c0, int64_t cols) {
      auto T = DW.block(r0, c0, rows, cols);
      T.noalias() += DY.middleCols(r0, rows).transpose() * X.middleCols(c0, cols);
    });
  }
  if (db) {
    // Column sums in row order (N is a batch size: small).
#pragma omp parallel for schedule(static) if (N * out > kParallelGrain)
    for (int64_t o = 0; o < out; ++o) {
      double s = 0;
      for (int64_t n = 0; n < N; ++n) s += dy[n * out + o];
      db[o] += static_cast<float>(s);
    }
  }
}

}  // namespace im
