// im::io::Error: the one exception type of the data path; its message names the file and the problem.
#pragma once
#include <stdexcept>
#include <string>

namespace im::io {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message) : std::runtime_error(message) {}
};

// Throws Error("<path>: <problem>"). Every failure that concerns a file goes through here so that
// messages have one shape the CLI and the tests can rely on.
[[noreturn]] inline void fail(const std::string& path, const std::string& problem) {
  throw Error(path + ": " + problem);
}

}  // namespace im::io
