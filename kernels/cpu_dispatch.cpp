// The CPU kernel path: the CPU's features (with the OS's support for their registers, which
// __builtin_cpu_supports checks) and the IMUNITY_CPU override.
#include "kernels/cpu_dispatch.h"

#include <cstdio>
#include <cstdlib>

namespace im {

const char* cpu_path_name(CpuPath p) {
  switch (p) {
    case CpuPath::Avx512: return "avx512";
    case CpuPath::Avx2: return "avx2";
    default: return "generic";
  }
}

bool parse_cpu_path(const std::string& name, CpuPath* p) {
  for (CpuPath c : {CpuPath::Generic, CpuPath::Avx2, CpuPath::Avx512})
    if (name == cpu_path_name(c)) {
      *p = c;
      return true;
    }
  return false;
}

std::string cpu_path_missing(CpuPath p) {
  __builtin_cpu_init();
  // Each path uses its predecessors' kernels where it has none of its own, so it needs their features.
  if (p >= CpuPath::Avx2 && !(__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")))
    return "this CPU lacks avx2 or fma";
  if (p >= CpuPath::Avx512 && !__builtin_cpu_supports("avx512f")) return "this CPU lacks avx512f";
  return {};
}

namespace {
CpuPath resolve() {
  const char* want = std::getenv("IMUNITY_CPU");
  if (!want || !*want) {
    for (CpuPath p : {CpuPath::Avx512, CpuPath::Avx2})
      if (cpu_path_missing(p).empty()) return p;
    return CpuPath::Generic;
  }
  CpuPath p;
  if (!parse_cpu_path(want, &p)) {
    std::fprintf(stderr, "imunity: IMUNITY_CPU=%s is not a CPU kernel path (generic, avx2 or avx512)\n", want);
    std::exit(2);
  }
  if (const std::string why = cpu_path_missing(p); !why.empty()) {
    std::fprintf(stderr, "imunity: IMUNITY_CPU=%s cannot run here: %s\n", want, why.c_str());
    std::exit(2);
  }
  return p;
}
}  // namespace

CpuPath cpu_path() {
  static const CpuPath path = resolve();
  return path;
}

}  // namespace im
