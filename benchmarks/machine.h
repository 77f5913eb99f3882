// What machine a benchmark ran on, for the tables' headers.
#pragma once
#include <fstream>
#include <string>

namespace im::bench {

// The CPU's model name from /proc/cpuinfo ("unknown CPU" elsewhere).
inline std::string cpu_model() {
  std::ifstream f("/proc/cpuinfo");
  std::string line;
  while (std::getline(f, line))
    if (line.rfind("model name", 0) == 0) return line.substr(line.find(':') + 2);
  return "unknown CPU";
}

}  // namespace im::bench
