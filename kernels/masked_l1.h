// Masked L1: loss = sum over mask != 0 of |a - b| / count (0 when the mask is empty). The count is
// kept on the device for the backward (inv_count = 1 / count, or 0 for an empty mask).
#pragma once
#include <cstdint>

namespace im {

// loss, inv_count: one float each on the inputs' device.
void masked_l1_forward_cpu(float* loss, float* inv_count, const float* a, const float* b, const float* mask, int64_t n);
void masked_l1_forward_cuda(float* loss, float* inv_count, const float* a, const float* b, const float* mask,
                            int64_t n);
// da += dloss * inv_count * sign(a - b) where mask != 0 (sign(0) = 0); db gets the opposite. Either
// gradient may be null; dloss and inv_count are read on the device.
void masked_l1_backward_cpu(float* da, float* db, const float* dloss, const float* inv_count, const float* a,
                            const float* b, const float* mask, int64_t n);
void masked_l1_backward_cuda(float* da, float* db, const float* dloss, const float* inv_count, const float* a,
                             const float* b, const float* mask, int64_t n);

}  // namespace im
