// Error construction for IM_CHECK.
#include "kernels/check.h"

namespace im {

void throw_error(const char* file, int line, const std::string& msg) {
  std::string f(file);
  if (auto p = f.rfind('/'); p != std::string::npos) {
    auto q = f.rfind('/', p - 1);
    f = f.substr(q == std::string::npos ? 0 : q + 1);
  }
  throw Error(msg + " (" + f + ":" + std::to_string(line) + ")");
}

}  // namespace im
