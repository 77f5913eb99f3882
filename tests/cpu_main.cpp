// Catch2 entry point of the test executables that run the engine (all but test_io and test_parity).
// It names the CPU kernel path the tests run on (kernels/cpu_dispatch.h); when IMUNITY_CPU forces a
// path this CPU lacks, it prints why and exits 77, which ctest reports as Skipped.
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "kernels/cpu_dispatch.h"

int main(int argc, char** argv) {
  Catch::Session session;
  if (const int rc = session.applyCommandLine(argc, argv)) return rc;
  const Catch::ConfigData& c = session.configData();
  // Listings are parsed by ctest's test discovery: nothing else may be printed then.
  if (c.listTests || c.listTestNamesOnly || c.listTags || c.listReporters || c.showHelp) return session.run();
  const char* want = std::getenv("IMUNITY_CPU");
  if (want && *want) {
    im::CpuPath p;
    if (!im::parse_cpu_path(want, &p)) {
      std::printf("IMUNITY_CPU=%s is not a CPU kernel path (generic, avx2 or avx512)\n", want);
      return 2;
    }
    if (const std::string why = im::cpu_path_missing(p); !why.empty()) {
      std::printf("SKIPPED: IMUNITY_CPU=%s: %s\n", want, why.c_str());
      return 77;
    }
  }
  std::printf("CPU kernels: %s (%s)\n", im::cpu_path_name(im::cpu_path()),
              want && *want ? "forced by IMUNITY_CPU" : "the best this CPU runs");
  return session.run();
}
