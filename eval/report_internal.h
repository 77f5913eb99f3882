// Shared between the report's JSON and HTML writers: the convention strings printed beside numbers.
#pragma once
#include <string>

#include "eval/evaluate.h"

namespace im::eval {

struct Conventions {
  std::string ssim2d_masked, ssim2d, ssim3d_masked, ssim3d, psnr, mae, radiomics, selection, classifier, cv, regression;
};
Conventions conventions(const EvalResults& r);
std::string now_utc_string();  // "2025-01-31 12:00 UTC"

}  // namespace im::eval
