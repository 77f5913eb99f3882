// IM_DISPATCH(dev, name_cpu, name_cuda, args...): calls name_cpu(args...) or name_cuda(args...) by
// device. Every kernel in kernels/ is declared as such a pair in its header; both names are written
// out at each call so that a search for either finds where the engine runs it.
#pragma once
#include "engine/device.h"
#include "kernels/check.h"

#if defined(IMUNITY_WITH_CUDA)
#define IM_DISPATCH(dev, cpu_fn, cuda_fn, ...) \
  do {                                         \
    if ((dev) == ::im::Device::CUDA)           \
      cuda_fn(__VA_ARGS__);                    \
    else                                       \
      cpu_fn(__VA_ARGS__);                     \
  } while (0)
#else
#define IM_DISPATCH(dev, cpu_fn, cuda_fn, ...)                                                    \
  do {                                                                                            \
    IM_CHECK((dev) != ::im::Device::CUDA, #cuda_fn ": this build of imunity has no CUDA backend"); \
    cpu_fn(__VA_ARGS__);                                                                          \
  } while (0)
#endif
