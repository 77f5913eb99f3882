// Within-sample ranks of the foreground (no autograd: applied to input data only).
#include "engine/dispatch.h"
#include "engine/ops.h"
#include "kernels/rank.h"

namespace im {

Tensor rank_normalize(const Tensor& x, float threshold, float lo) {
  IM_CHECK(x.ndim() >= 1 && x.size(0) > 0, "rank_normalize: expected [N, ...] with N > 0, got " << x.shape().str());
  IM_CHECK(lo >= 0.f && lo < 1.f, "rank_normalize: the floor must be in [0, 1), got " << lo);
  Tensor y = Tensor::empty_like(x);
  const int64_t n = x.size(0), per = x.numel() / n;
  IM_DISPATCH(x.device(), rank_normalize_cpu, rank_normalize_cuda, y.data(), x.data(), n, per, threshold, lo);
  return y;
}

}  // namespace im
