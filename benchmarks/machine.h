// What machine a benchmark ran on, for the tables' headers.
#pragma once
#include <cstdlib>
#include <fstream>
#include <string>

#include "kernels/cpu_dispatch.h"

namespace im::bench {

// The CPU's model name from /proc/cpuinfo ("unknown CPU" elsewhere), the CPU kernel path in use
// (kernels/cpu_dispatch.h) and the instruction set the rest was built for (IMUNITY_HOST_ARCH, from
// the build), e.g. "AMD EPYC, avx512 kernels, host code x86-64-v2".
inline std::string cpu_model() {
  std::ifstream f("/proc/cpuinfo");
  std::string line, model = "unknown CPU";
  while (std::getline(f, line))
    if (line.rfind("model name", 0) == 0) {
      model = line.substr(line.find(':') + 2);
      break;
    }
  return model + ", " + cpu_path_name(cpu_path()) + " kernels, host code " + IMUNITY_HOST_ARCH;
}

// The 1-minute load average (-1 where unavailable): printed beside timings taken on a shared machine.
inline double load_average() {
  double l[1] = {0};
  return getloadavg(l, 1) == 1 ? l[0] : -1;
}

}  // namespace im::bench
