// Nearest-neighbour 2x upsampling of NCHW maps (PyTorch's interpolate(scale_factor=2, mode="nearest")):
// the decoder's resize-convolution (upsample, then a 3x3 convolution) draws no checkerboard.
#pragma once
#include <cstdint>

namespace im {

// y [planes, 2h, 2w] from x [planes, h, w]: y[p, 2i + a, 2j + b] = x[p, i, j].
void upsample2x_forward_cpu(float* y, const float* x, int64_t planes, int64_t h, int64_t w);
void upsample2x_forward_cuda(float* y, const float* x, int64_t planes, int64_t h, int64_t w);
// dx[p, i, j] += the sum of dy over its 2 x 2 block (added in the order a, b: the same on both devices).
void upsample2x_backward_cpu(float* dx, const float* dy, int64_t planes, int64_t h, int64_t w);
void upsample2x_backward_cuda(float* dx, const float* dy, int64_t planes, int64_t h, int64_t w);

}  // namespace im
