// Running the built command-line tools from tests, and checking that they left no temporaries.
#pragma once
#include <string>
#include <vector>

namespace im::test {

struct CommandResult {
  int exit_code = -1;
  std::string output;  // stdout and stderr together
};
CommandResult run_command(const std::string& command);
// Path of a built tool (imunity-prep, imunity-harmonize, ...); throws naming the path when it is not built.
std::string tool_path(const std::string& name);
// Files under `dir` whose name contains ".tmp-" (left-over temporaries of atomic writes).
std::vector<std::string> temp_leftovers(const std::string& dir);

}  // namespace im::test
