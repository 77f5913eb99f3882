// The fused losses of the ImUnity model: one kernel each for the forward and one for the backward,
// a CPU twin of each (kernels/<name>.{h,cpp,cu}), autograd in engine/ops_losses.cpp. Where each
// piece of a loss lives: the map at the top of engine/ops.h.
#pragma once
#include "engine/tensor.h"

namespace im {

// KL(N(mu, exp(logvar)) || N(0, 1)) = -0.5 * sum(1 + logvar - mu^2 - exp(logvar)), summed over all
// but the batch dimension and averaged over the batch: shape [1].
Tensor kl_divergence(const Tensor& mu, const Tensor& logvar);

// Eq. (1): mean over the batch of the cross-entropy of softmax(logits [N, S]) with labels [N]
// (class indices as floats), with label smoothing: target = (1 - s) * onehot + s / S. A label
// outside [0, S) is an error on the CPU; on the GPU (where checking would need a sync) it makes
// the loss and that row's gradient NaN, which the trainer's NaN check reports.
Tensor site_cross_entropy(const Tensor& logits, const Tensor& labels, float smoothing = 0.f);
// Eq. (2): -(1/N) sum_i sum_s log(p_i^s) / S, the cross-entropy against the uniform distribution.
Tensor confusion_loss(const Tensor& logits);

// Mean over all elements of the binary cross-entropy with logits against targets in [0, 1].
Tensor bce_with_logits(const Tensor& logits, const Tensor& targets);

// Mean of |a - b| over the elements where mask is 1 (0 when the mask is empty). mask is not
// differentiated.
Tensor masked_l1(const Tensor& a, const Tensor& b, const Tensor& mask);

// Mean SSIM of two batches [N, 1, H, W] with an 11x11 Gaussian window (sigma 1.5), K1 = 0.01,
// K2 = 0.03, data range 1, 'valid' windows only (as TensorFlow's tf.image.ssim); returns
// 1 - SSIM (a loss), shape [1]. Differentiable in a and b.
Tensor ssim_loss(const Tensor& a, const Tensor& b);

}  // namespace im
