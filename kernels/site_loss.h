// Site losses on logits [N, S] through a numerically stable log-softmax:
//   site cross-entropy, eq. (1), with label smoothing: target = (1 - s) * onehot(label) + s / S;
//   confusion, eq. (2): the cross-entropy against the uniform target 1 / S (labels == nullptr).
// loss = mean over rows of -sum_s target_s * log p_s = mean of (logsumexp - sum_s target_s * x_s).
// A label that is not an integer in [0, S) makes the loss (and that row's gradient) NaN: the GPU
// cannot throw without a synchronization, so both twins flag it the same way.
#pragma once
#include <cstdint>

namespace im {

void site_loss_forward_cpu(float* loss, const float* logits, const float* labels, int64_t N, int64_t S,
                           float smoothing);
void site_loss_forward_cuda(float* loss, const float* logits, const float* labels, int64_t N, int64_t S,
                            float smoothing);
// dlogits += dloss / N * (softmax - target); dloss is one float on the device.
void site_loss_backward_cpu(float* dlogits, const float* dloss, const float* logits, const float* labels, int64_t N,
                            int64_t S, float smoothing);
void site_loss_backward_cuda(float* dlogits, const float* dloss, const float* logits, const float* labels, int64_t N,
                             int64_t S, float smoothing);

}  // namespace im
