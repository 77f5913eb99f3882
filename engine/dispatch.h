// IM_DISPATCH(dev, name, args...): calls name_cpu(args...) or name_cuda(args...) by device.
// Every kernel in kernels/ is declared as such a pair in its header.
#pragma once
#include "engine/check.h"
#include "engine/device.h"

#if defined(IMUNITY_WITH_CUDA)
#define IM_DISPATCH(dev, fn, ...)                 \
  do {                                            \
    if ((dev) == ::im::Device::CUDA)              \
      fn##_cuda(__VA_ARGS__);                     \
    else                                          \
      fn##_cpu(__VA_ARGS__);                      \
  } while (0)
#else
#define IM_DISPATCH(dev, fn, ...)                                                              \
  do {                                                                                         \
    IM_CHECK((dev) != ::im::Device::CUDA, #fn ": this build of imunity has no CUDA backend"); \
    fn##_cpu(__VA_ARGS__);                                                                     \
  } while (0)
#endif
