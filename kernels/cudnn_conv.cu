// cuDNN convolution plans: descriptors and algorithm per (geometry, direction, TF32), found once
// by cudnnFind* and cached; calls run on the engine's stream with the shared workspace.
#include <algorithm>
#include <map>
#include <mutex>
#include <string>
#include <tuple>
#include <vector>

#include "engine/check.h"
#include "engine/cuda_api.h"
#include "engine/cuda_context.cuh"
#include "kernels/cudnn_conv.h"

namespace im {

namespace {
enum Dir : int { kForward = 0, kBackwardData = 1, kBackwardFilter = 2 };
const char* const kDirName[] = {"forward", "backward data", "backward filter"};

// Algorithms needing more workspace than this are passed over (FFT variants can ask for GiBs).
constexpr size_t kMaxWorkspace = size_t(1) << 30;
// A deterministic algorithm is taken over a faster non-deterministic one within this factor.
constexpr float kDeterministicSlack = 1.1f;

struct Key {
  int64_t n, c, h, w, o, k, s;
  int dir;
  bool tf32;
  bool operator<(const Key& b) const {
    return std::tie(n, c, h, w, o, k, s, dir, tf32) < std::tie(b.n, b.c, b.h, b.w, b.o, b.k, b.s, b.dir, b.tf32);
  }
};

struct Plan {
  cudnnTensorDescriptor_t x = nullptr, y = nullptr;
  cudnnFilterDescriptor_t w = nullptr;
  cudnnConvolutionDescriptor_t conv = nullptr;
  int algo = 0;  // a cudnnConvolution{Fwd,BwdData,BwdFilter}Algo_t, by direction
  size_t workspace = 0;
};

int to_int(int64_t v, const char* what) {
  IM_CHECK(v > 0 && v < (int64_t(1) << 31), "cuDNN conv: " << what << " = " << v << " out of range");
  return static_cast<int>(v);
}

cudnnTensorDescriptor_t tensor4d(int64_t n, int64_t c, int64_t h, int64_t w) {
  IM_CHECK(n * c * h * w < (int64_t(1) << 31), "cuDNN conv: tensor of " << n * c * h * w << " elements is too large");
  cudnnTensorDescriptor_t d;
  IM_CUDNN_CHECK(cudnnCreateTensorDescriptor(&d));
  IM_CUDNN_CHECK(cudnnSetTensor4dDescriptor(d, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, to_int(n, "n"), to_int(c, "c"),
                                            to_int(h, "h"), to_int(w, "w")));
  return d;
}

bool tensor_op(cudnnMathType_t m) { return m == CUDNN_TENSOR_OP_MATH || m == CUDNN_TENSOR_OP_MATH_ALLOW_CONVERSION; }

// The fastest usable result (Find sorts by time), or a deterministic one within kDeterministicSlack
// of it; usable means it ran, fits kMaxWorkspace and, with TF32 off, is a plain FMA kernel.
template <typename Perf>
const Perf& pick(const std::vector<Perf>& r, bool tf32, const Key& key) {
  auto usable = [&](const Perf& p) {
    return p.status == CUDNN_STATUS_SUCCESS && p.memory <= kMaxWorkspace && (tf32 || !tensor_op(p.mathType));
  };
  const Perf* best = nullptr;
  for (const Perf& p : r)
    if (usable(p) && (!best || p.time < best->time)) best = &p;
  IM_CHECK(best, "cuDNN conv " << kDirName[key.dir] << ": no usable algorithm for x [" << key.n << ", " << key.c << ", "
                              << key.h << ", " << key.w << "], " << key.o << " filters " << key.k << "x" << key.k
                              << " stride " << key.s);
  if (best->determinism == CUDNN_DETERMINISTIC) return *best;
  const Perf* det = nullptr;
  for (const Perf& p : r)
    if (usable(p) && p.determinism == CUDNN_DETERMINISTIC && p.time <= kDeterministicSlack * best->time &&
        (!det || p.time < det->time))
      det = &p;
  return det ? *det : *best;
}

template <typename Perf>
void choose(Plan& p, const std::vector<Perf>& results, const Key& key) {
  const Perf& r = pick(results, key.tf32, key);
  p.algo = static_cast<int>(r.algo);
  p.workspace = r.memory;
  IM_CUDNN_CHECK(cudnnSetConvolutionMathType(p.conv, key.tf32 ? r.mathType : CUDNN_FMA_MATH));
}

Plan make_plan(const ConvGeometry& g, const Key& key) {
  Plan p;
  p.x = tensor4d(g.n, g.c, g.h, g.w);
  p.y = tensor4d(g.n, g.o, g.ho, g.wo);
  IM_CUDNN_CHECK(cudnnCreateFilterDescriptor(&p.w));
  IM_CUDNN_CHECK(cudnnSetFilter4dDescriptor(p.w, CUDNN_DATA_FLOAT, CUDNN_TENSOR_NCHW, to_int(g.o, "o"), to_int(g.c, "c"),
                                            to_int(g.k, "k"), to_int(g.k, "k")));
  IM_CUDNN_CHECK(cudnnCreateConvolutionDescriptor(&p.conv));
  const int pad = static_cast<int>(g.pad), s = static_cast<int>(g.s);
  IM_CUDNN_CHECK(cudnnSetConvolution2dDescriptor(p.conv, pad, pad, s, s, 1, 1, CUDNN_CROSS_CORRELATION, CUDNN_DATA_FLOAT));
  // With TF32 off only FMA kernels may run (parity at 1e-4); with it on cuDNN may pick tensor cores.
  IM_CUDNN_CHECK(cudnnSetConvolutionMathType(p.conv, key.tf32 ? CUDNN_TENSOR_OP_MATH : CUDNN_FMA_MATH));

  // Our output size must be cuDNN's: ceil(h / s) with padding k/2.
  int dims[4];
  IM_CUDNN_CHECK(cudnnGetConvolution2dForwardOutputDim(p.conv, p.x, p.w, &dims[0], &dims[1], &dims[2], &dims[3]));
  IM_CHECK(dims[2] == g.ho && dims[3] == g.wo, "cuDNN conv: output " << dims[2] << "x" << dims[3] << ", expected "
                                                                    << g.ho << "x" << g.wo);

  // Find runs every algorithm once on buffers it allocates itself: first call for this shape only.
  cudnnHandle_t h = cuda::cudnn();
  int max = 0, got = 0;
  if (key.dir == kForward) {
    IM_CUDNN_CHECK(cudnnGetConvolutionForwardAlgorithmMaxCount(h, &max));
    std::vector<cudnnConvolutionFwdAlgoPerf_t> r(max);
    IM_CUDNN_CHECK(cudnnFindConvolutionForwardAlgorithm(h, p.x, p.w, p.conv, p.y, max, &got, r.data()));
    r.resize(got);
    choose(p, r, key);
  } else if (key.dir == kBackwardData) {
    IM_CUDNN_CHECK(cudnnGetConvolutionBackwardDataAlgorithmMaxCount(h, &max));
    std::vector<cudnnConvolutionBwdDataAlgoPerf_t> r(max);
    IM_CUDNN_CHECK(cudnnFindConvolutionBackwardDataAlgorithm(h, p.w, p.y, p.conv, p.x, max, &got, r.data()));
    r.resize(got);
    choose(p, r, key);
  } else {
    IM_CUDNN_CHECK(cudnnGetConvolutionBackwardFilterAlgorithmMaxCount(h, &max));
    std::vector<cudnnConvolutionBwdFilterAlgoPerf_t> r(max);
    IM_CUDNN_CHECK(cudnnFindConvolutionBackwardFilterAlgorithm(h, p.x, p.y, p.conv, p.w, max, &got, r.data()));
    r.resize(got);
    choose(p, r, key);
  }
  return p;
}

std::mutex g_mutex;
std::map<Key, Plan> g_plans;
std::map<std::tuple<int64_t, int64_t, int64_t>, std::pair<cudnnTensorDescriptor_t, cudnnTensorDescriptor_t>> g_bias;

const Plan& plan(const ConvGeometry& g, int dir) {
  const Key key{g.n, g.c, g.h, g.w, g.o, g.k, g.s, dir, cuda::tf32()};
  std::lock_guard<std::mutex> lock(g_mutex);
  auto it = g_plans.find(key);
  if (it == g_plans.end()) it = g_plans.emplace(key, make_plan(g, key)).first;
  return it->second;
}

// Descriptors of t [n, c, hw, 1] and of a per-channel vector [1, c, 1, 1].
std::pair<cudnnTensorDescriptor_t, cudnnTensorDescriptor_t> bias_descs(int64_t n, int64_t c, int64_t hw) {
  std::lock_guard<std::mutex> lock(g_mutex);
  auto key = std::make_tuple(n, c, hw);
  auto it = g_bias.find(key);
  if (it == g_bias.end()) it = g_bias.emplace(key, std::make_pair(tensor4d(n, c, hw, 1), tensor4d(1, c, 1, 1))).first;
  return it->second;
}

void* workspace_for(const Plan& p) { return p.workspace ? cuda::workspace(p.workspace) : nullptr; }
bool empty(const ConvGeometry& g) { return g.n == 0 || g.c == 0 || g.o == 0 || g.h == 0 || g.w == 0; }
}  // namespace

void cudnn_conv_forward(float* y, const float* x, const float* w, const ConvGeometry& g, float beta) {
  if (empty(g)) return;
  const Plan& p = plan(g, kForward);
  const float alpha = 1.f;
  IM_CUDNN_CHECK(cudnnConvolutionForward(cuda::cudnn(), &alpha, p.x, x, p.w, w, p.conv,
                                         static_cast<cudnnConvolutionFwdAlgo_t>(p.algo), workspace_for(p), p.workspace,
                                         &beta, p.y, y));
}

void cudnn_conv_backward_data(float* x, const float* y, const float* w, const ConvGeometry& g, float beta) {
  if (empty(g)) return;
  const Plan& p = plan(g, kBackwardData);
  const float alpha = 1.f;
  IM_CUDNN_CHECK(cudnnConvolutionBackwardData(cuda::cudnn(), &alpha, p.w, w, p.y, y, p.conv,
                                              static_cast<cudnnConvolutionBwdDataAlgo_t>(p.algo), workspace_for(p),
                                              p.workspace, &beta, p.x, x));
}

void cudnn_conv_backward_filter(float* dw, const float* x, const float* y, const ConvGeometry& g, float beta) {
  if (empty(g)) return;
  const Plan& p = plan(g, kBackwardFilter);
  const float alpha = 1.f;
  IM_CUDNN_CHECK(cudnnConvolutionBackwardFilter(cuda::cudnn(), &alpha, p.x, x, p.y, y, p.conv,
                                                static_cast<cudnnConvolutionBwdFilterAlgo_t>(p.algo), workspace_for(p),
                                                p.workspace, &beta, p.w, dw));
}

void cudnn_add_channel_bias(float* t, const float* b, int64_t n, int64_t c, int64_t hw) {
  if (n == 0 || c == 0 || hw == 0) return;
  auto [td, bd] = bias_descs(n, c, hw);
  const float one = 1.f;
  IM_CUDNN_CHECK(cudnnAddTensor(cuda::cudnn(), &one, bd, b, &one, td, t));
}

void cudnn_channel_sum_add(float* db, const float* t, int64_t n, int64_t c, int64_t hw) {
  if (n == 0 || c == 0 || hw == 0) return;
  auto [td, bd] = bias_descs(n, c, hw);
  const float one = 1.f;
  IM_CUDNN_CHECK(cudnnConvolutionBackwardBias(cuda::cudnn(), &one, td, t, &one, bd, db));
}

int64_t cudnn_conv_plan_count() {
  std::lock_guard<std::mutex> lock(g_mutex);
  return static_cast<int64_t>(g_plans.size());
}

}  // namespace im
