// Inference helpers: no tape, mean codes (no sampling).
#include "model/inference.h"

#include "engine/autograd.h"
#include "engine/ops.h"

namespace im::model {

Tensor contrast_codes(ImUnity& model, const Tensor& slices) {
  NoGrad ng;
  return model.encode_contrast(slices, nullptr).mu;
}

Tensor mean_contrast_code(ImUnity& model, const Tensor& slices) {
  NoGrad ng;
  return mean(contrast_codes(model, slices), 0, 1, true);
}

Tensor harmonize_slices(ImUnity& model, const Tensor& slices, const Tensor& contrast_code) {
  NoGrad ng;
  Code a = model.encode_anatomy(slices, nullptr);
  return model.decode(a.z, contrast_code, slices);
}

DecodedPair harmonize_slices_pair(ImUnity& model, const Tensor& slices, const Tensor& code_a, const Tensor& code_b) {
  NoGrad ng;
  Code a = model.encode_anatomy(slices, nullptr);
  return {model.decode(a.z, code_a, slices), model.decode(a.z, code_b, slices)};
}

}  // namespace im::model
