// cuDNN convolution plans: descriptors per exact shape, algorithms searched once per batch-size
// bucket (cudnnFind*) or chosen per exact shape by heuristics in deterministic mode; calls run on
// the engine's stream with the shared workspace.
#include <algorithm>
#include <map>
#include <sstream>
#include <mutex>
#include <string>
#include <tuple>
#include <vector>

#include "kernels/check.h"
#include "kernels/cuda_api.h"
#include "kernels/cuda_context.cuh"
#include "kernels/cudnn_conv.h"

namespace im {

namespace {
enum Dir : int { kForward = 0, kBackwardData = 1, kBackwardFilter = 2 };
const char* const kDirName[] = {"forward", "backward data", "backward filter"};

// Algorithms needing more workspace than this are passed over (FFT variants can ask for GiBs).
constexpr size_t kMaxWorkspace = size_t(1) << 30;
// A deterministic algorithm is taken over a faster non-deterministic one within this factor.
constexpr float kDeterministicSlack = 1.1f;

// One convolution shape and direction. `n` is the exact batch size for descriptors; algorithm
// searches are keyed on its bucket (next power of two), so that the varying batch sizes of
// harmonization (per volume, per axis, a last partial batch) reuse the search of their bucket.
struct Key {
  int64_t n, c, h, w, o, k, s;
  int dir;
  bool tf32, deterministic;
  auto tie() const { return std::tie(n, c, h, w, o, k, s, dir, tf32, deterministic); }
  bool operator<(const Key& b) const { return tie() < b.tie(); }
};

int64_t bucket(int64_t n) {
  int64_t b = 1;
  while (b < n) b *= 2;
  return b;
}

// The algorithm chosen for a search key, and the math type it runs with.
struct Choice {
  int algo = 0;  // a cudnnConvolution{Fwd,BwdData,BwdFilter}Algo_t, by direction
  cudnnMathType_t math = CUDNN_FMA_MATH;
};

struct Plan {
  cudnnTensorDescriptor_t x = nullptr, y = nullptr;
  cudnnFilterDescriptor_t w = nullptr;
  cudnnConvolutionDescriptor_t conv = nullptr;
  int algo = 0;
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

std::string describe(const Key& key) {
  std::ostringstream os;
  os << "cuDNN conv " << kDirName[key.dir] << " of x [" << key.n << ", " << key.c << ", " << key.h << ", " << key.w << "], "
     << key.o << " filters " << key.k << "x" << key.k << " stride " << key.s;
  return os.str();
}

// Usable means: it ran (or, from heuristics, is supported), fits kMaxWorkspace and, with TF32
// off, is a plain FMA kernel.
template <typename Perf>
bool usable(const Perf& p, bool tf32) {
  return p.status == CUDNN_STATUS_SUCCESS && p.memory <= kMaxWorkspace && (tf32 || !tensor_op(p.mathType));
}

// From timed results (cudnnFind*): the fastest usable one, or a deterministic one within
// kDeterministicSlack of it. From heuristics (deterministic mode): the first usable deterministic
// one in cuDNN's order, which depends only on the shape, the GPU and the cuDNN version.
template <typename Perf>
Choice pick(const std::vector<Perf>& r, const Key& key) {
  const Perf* best = nullptr;
  if (key.deterministic) {
    for (const Perf& p : r)
      if (!best && usable(p, key.tf32) && p.determinism == CUDNN_DETERMINISTIC) best = &p;
    IM_CHECK(best, describe(key) << ": no deterministic algorithm (deterministic mode)");
    return {static_cast<int>(best->algo), key.tf32 ? best->mathType : CUDNN_FMA_MATH};
  }
  for (const Perf& p : r)
    if (usable(p, key.tf32) && (!best || p.time < best->time)) best = &p;
  IM_CHECK(best, describe(key) << ": no usable algorithm");
  if (best->determinism != CUDNN_DETERMINISTIC) {
    const Perf* det = nullptr;
    for (const Perf& p : r)
      if (usable(p, key.tf32) && p.determinism == CUDNN_DETERMINISTIC && p.time <= kDeterministicSlack * best->time &&
          (!det || p.time < det->time))
        det = &p;
    if (det) best = det;
  }
  return {static_cast<int>(best->algo), key.tf32 ? best->mathType : CUDNN_FMA_MATH};
}

std::mutex g_mutex;
std::map<Key, Plan> g_plans;       // per exact shape: descriptors, algorithm, workspace
std::map<Key, Choice> g_choices;   // per search key (bucketed batch, or exact in deterministic mode)
int64_t g_searches = 0;
std::map<std::tuple<int64_t, int64_t, int64_t>, std::pair<cudnnTensorDescriptor_t, cudnnTensorDescriptor_t>> g_bias;

// One search: the candidates' count, then heuristics (deterministic mode) or cudnnFind*.
template <typename Perf, typename Count, typename Heuristic, typename Find>
Choice search_with(const Key& key, Count count, Heuristic heuristic, Find find) {
  int max = 0, got = 0;
  IM_CUDNN_CHECK(count(&max));
  std::vector<Perf> r(max);
  if (key.deterministic)
    IM_CUDNN_CHECK(heuristic(max, &got, r.data()));
  else
    IM_CUDNN_CHECK(find(max, &got, r.data()));
  r.resize(got);
  return pick(r, key);
}

// Runs the algorithm search for the plan's shape: cudnnFind* (times every algorithm on buffers it
// allocates) or, in deterministic mode, cuDNN's heuristics (no timing).
Choice search(const Plan& p, const Key& key) {
  ++g_searches;
  cudnnHandle_t h = cuda::cudnn();
  if (key.dir == kForward)
    return search_with<cudnnConvolutionFwdAlgoPerf_t>(
        key, [&](int* m) { return cudnnGetConvolutionForwardAlgorithmMaxCount(h, m); },
        [&](int m, int* g, cudnnConvolutionFwdAlgoPerf_t* r) { return cudnnGetConvolutionForwardAlgorithm_v7(h, p.x, p.w, p.conv, p.y, m, g, r); },
        [&](int m, int* g, cudnnConvolutionFwdAlgoPerf_t* r) { return cudnnFindConvolutionForwardAlgorithm(h, p.x, p.w, p.conv, p.y, m, g, r); });
  if (key.dir == kBackwardData)
    return search_with<cudnnConvolutionBwdDataAlgoPerf_t>(
        key, [&](int* m) { return cudnnGetConvolutionBackwardDataAlgorithmMaxCount(h, m); },
        [&](int m, int* g, cudnnConvolutionBwdDataAlgoPerf_t* r) {
          return cudnnGetConvolutionBackwardDataAlgorithm_v7(h, p.w, p.y, p.conv, p.x, m, g, r);
        },
        [&](int m, int* g, cudnnConvolutionBwdDataAlgoPerf_t* r) {
          return cudnnFindConvolutionBackwardDataAlgorithm(h, p.w, p.y, p.conv, p.x, m, g, r);
        });
  return search_with<cudnnConvolutionBwdFilterAlgoPerf_t>(
      key, [&](int* m) { return cudnnGetConvolutionBackwardFilterAlgorithmMaxCount(h, m); },
      [&](int m, int* g, cudnnConvolutionBwdFilterAlgoPerf_t* r) {
        return cudnnGetConvolutionBackwardFilterAlgorithm_v7(h, p.x, p.y, p.conv, p.w, m, g, r);
      },
      [&](int m, int* g, cudnnConvolutionBwdFilterAlgoPerf_t* r) {
        return cudnnFindConvolutionBackwardFilterAlgorithm(h, p.x, p.y, p.conv, p.w, m, g, r);
      });
}

// Workspace of `algo` at the plan's exact shape; false when cuDNN does not support it there.
bool workspace_size(const Plan& p, int dir, int algo, size_t* bytes) {
  cudnnHandle_t h = cuda::cudnn();
  cudnnStatus_t st;
  if (dir == kForward)
    st = cudnnGetConvolutionForwardWorkspaceSize(h, p.x, p.w, p.conv, p.y, static_cast<cudnnConvolutionFwdAlgo_t>(algo), bytes);
  else if (dir == kBackwardData)
    st = cudnnGetConvolutionBackwardDataWorkspaceSize(h, p.w, p.y, p.conv, p.x, static_cast<cudnnConvolutionBwdDataAlgo_t>(algo), bytes);
  else
    st = cudnnGetConvolutionBackwardFilterWorkspaceSize(h, p.x, p.y, p.conv, p.w, static_cast<cudnnConvolutionBwdFilterAlgo_t>(algo),
                                                        bytes);
  return st == CUDNN_STATUS_SUCCESS && *bytes <= kMaxWorkspace;
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

  // The search runs once per search key; another batch size of the bucket reuses its algorithm
  // when cuDNN supports it at this size, else searches for this exact shape.
  Key search_key = key;
  if (!key.deterministic) search_key.n = bucket(key.n);
  auto it = g_choices.find(search_key);
  if (it == g_choices.end()) it = g_choices.emplace(search_key, search(p, key)).first;
  Choice c = it->second;
  if (!workspace_size(p, key.dir, c.algo, &p.workspace)) {
    c = search(p, key);
    IM_CHECK(workspace_size(p, key.dir, c.algo, &p.workspace), describe(key) << ": the algorithm found has no workspace size");
  }
  p.algo = c.algo;
  IM_CUDNN_CHECK(cudnnSetConvolutionMathType(p.conv, c.math));
  return p;
}

const Plan& plan(const ConvGeometry& g, int dir) {
  const Key key{g.n, g.c, g.h, g.w, g.o, g.k, g.s, dir, cuda::tf32(), cuda::deterministic()};
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
  IM_CUDA_LAUNCH_CHECK();
}

void cudnn_conv_backward_data(float* x, const float* y, const float* w, const ConvGeometry& g, float beta) {
  if (empty(g)) return;
  const Plan& p = plan(g, kBackwardData);
  const float alpha = 1.f;
  IM_CUDNN_CHECK(cudnnConvolutionBackwardData(cuda::cudnn(), &alpha, p.w, w, p.y, y, p.conv,
                                              static_cast<cudnnConvolutionBwdDataAlgo_t>(p.algo), workspace_for(p),
                                              p.workspace, &beta, p.x, x));
  IM_CUDA_LAUNCH_CHECK();
}

void cudnn_conv_backward_filter(float* dw, const float* x, const float* y, const ConvGeometry& g, float beta) {
  if (empty(g)) return;
  const Plan& p = plan(g, kBackwardFilter);
  const float alpha = 1.f;
  IM_CUDNN_CHECK(cudnnConvolutionBackwardFilter(cuda::cudnn(), &alpha, p.x, x, p.y, y, p.conv,
                                                static_cast<cudnnConvolutionBwdFilterAlgo_t>(p.algo), workspace_for(p),
                                                p.workspace, &beta, p.w, dw));
  IM_CUDA_LAUNCH_CHECK();
}

void cudnn_add_channel_bias(float* t, const float* b, int64_t n, int64_t c, int64_t hw) {
  if (n == 0 || c == 0 || hw == 0) return;
  auto [td, bd] = bias_descs(n, c, hw);
  const float one = 1.f;
  IM_CUDNN_CHECK(cudnnAddTensor(cuda::cudnn(), &one, bd, b, &one, td, t));
  IM_CUDA_LAUNCH_CHECK();
}

void cudnn_channel_sum_add(float* db, const float* t, int64_t n, int64_t c, int64_t hw) {
  if (n == 0 || c == 0 || hw == 0) return;
  auto [td, bd] = bias_descs(n, c, hw);
  const float one = 1.f;
  IM_CUDNN_CHECK(cudnnConvolutionBackwardBias(cuda::cudnn(), &one, td, t, &one, bd, db));
  IM_CUDA_LAUNCH_CHECK();
}

int64_t cudnn_conv_plan_count() {
  std::lock_guard<std::mutex> lock(g_mutex);
  return static_cast<int64_t>(g_plans.size());
}

int64_t cudnn_conv_search_count() {
  std::lock_guard<std::mutex> lock(g_mutex);
  return g_searches;
}

}  // namespace im
