// Which instruction-set path the hot CPU kernels take (GEMM micro-kernel, im2col/col2im). The host
// code is built for a portable baseline (x86-64-v2 unless IMUNITY_NATIVE); these kernels also carry
// AVX2+FMA and AVX-512 variants, picked once at run time from the CPU's features, or forced with
// IMUNITY_CPU=generic|avx2|avx512 (tests run each path the CPU supports that way).
#pragma once
#include <string>

// Function attributes for the variants: code inside is compiled for that instruction set whatever
// the baseline, and is only called once the CPU is known to have it.
#define IM_TARGET_AVX2 __attribute__((target("avx2,fma")))
#define IM_TARGET_AVX512 __attribute__((target("avx2,fma,avx512f")))
// A shared kernel body inlined into each variant, so that it is compiled once per instruction set.
#define IM_ALWAYS_INLINE inline __attribute__((always_inline))

namespace im {

enum class CpuPath { Generic, Avx2, Avx512 };

// The path in use, decided at the first call: IMUNITY_CPU when set, else the best one this CPU runs.
// An unknown or unsupported IMUNITY_CPU is a mistake in the environment: the program prints why and
// exits with status 2 (the first call may come from inside a parallel region, where nothing can throw).
CpuPath cpu_path();
const char* cpu_path_name(CpuPath p);
// Parses "generic", "avx2" or "avx512"; false for anything else.
bool parse_cpu_path(const std::string& name, CpuPath* p);
// Empty when this CPU (and OS) can run path p, else why not ("this CPU lacks avx512f").
std::string cpu_path_missing(CpuPath p);

}  // namespace im
