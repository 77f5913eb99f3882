// IM_CHECK: argument/state validation that throws im::Error with file and line.
#pragma once
#include <sstream>
#include <stdexcept>
#include <string>

namespace im {

struct Error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

[[noreturn]] void throw_error(const char* file, int line, const std::string& msg);

}  // namespace im

#define IM_CHECK(cond, msg)                                          \
  do {                                                               \
    if (!(cond)) {                                                   \
      std::ostringstream im_check_os_;                               \
      im_check_os_ << msg;                                           \
      ::im::throw_error(__FILE__, __LINE__, im_check_os_.str());     \
    }                                                                \
  } while (0)
