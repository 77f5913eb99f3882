// cuDNN convolutions in the geometry of kernels/im2col.h (big side x [n, c, h, w], small side
// y [n, o, ho, wo], weights [o, c, k, k]): out = op(...) + beta * out. Descriptors are made once
// per exact shape; the algorithm is searched (cudnnFind*) once per batch-size bucket (the next power
// of two) and direction and TF32 switch, and reused for the other batch sizes of the bucket; in
// deterministic mode cuDNN's heuristics choose per exact shape, without timing. Every call runs on
// the engine's stream with the shared workspace.
// Plain C++ interface (callable from .cpp); implemented in cudnn_conv.cu.
#pragma once
#include <cstdint>

#include "kernels/im2col.h"

namespace im {

// y = conv(x, w) + beta * y
void cudnn_conv_forward(float* y, const float* x, const float* w, const ConvGeometry& g, float beta);
// x = conv^T(y, w) + beta * x
void cudnn_conv_backward_data(float* x, const float* y, const float* w, const ConvGeometry& g, float beta);
// dw = sum over images of y_n * patches(x_n)^T + beta * dw
void cudnn_conv_backward_filter(float* dw, const float* x, const float* y, const ConvGeometry& g, float beta);
// t [n, c, hw] += b [c] broadcast over n and hw.
void cudnn_add_channel_bias(float* t, const float* b, int64_t n, int64_t c, int64_t hw);
// db [c] += sum of t [n, c, hw] over n and hw.
void cudnn_channel_sum_add(float* db, const float* t, int64_t n, int64_t c, int64_t hw);

// Number of cached (exact shape, direction) plans, and of algorithm searches run, for tests.
int64_t cudnn_conv_plan_count();
int64_t cudnn_conv_search_count();

}  // namespace im
