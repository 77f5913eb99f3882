// Inference with a trained ImUnity: contrast codes of slices, and slices decoded with the mean anatomy
// code under one or two contrast codes (the target's, and the input's own for the output stage).
#pragma once
#include "model/imunity.h"

namespace im::model {

// Per-slice contrast codes: the contrast encoder's mean (no sampling) of each slice [N, 1, H, W],
// shape [N, C, h, w] (per-site codes average them over a site's slices).
Tensor contrast_codes(ImUnity& model, const Tensor& slices);

// Mean contrast code (the encoder's mean, no sampling) of a batch of slices: shape [1, C, h, w]
// (or [1, C, 1, 1] when pooled). Used for per-site and per-target codes.
Tensor mean_contrast_code(ImUnity& model, const Tensor& slices);

// Harmonizes slices [N, 1, H, W] towards a contrast code [1, C, h, w] (mean anatomy code).
Tensor harmonize_slices(ImUnity& model, const Tensor& slices, const Tensor& contrast_code);

// The same slices decoded under two codes from one anatomy encoding: first[i] with code_a,
// second[i] with code_b (the counterfactual pair of the detail-preserving output stage).
struct DecodedPair {
  Tensor first, second;
};
DecodedPair harmonize_slices_pair(ImUnity& model, const Tensor& slices, const Tensor& code_a, const Tensor& code_b);

}  // namespace im::model
