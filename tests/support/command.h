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
// Runs `exe` with `args` (no shell), output captured; with `signal` set, sends it to that process
// (and no other) once it prints a line containing `signal_at`. exit_code: the exit status, or -1
// when a signal ended the process.
CommandResult run_program(const std::string& exe, const std::vector<std::string>& args, int signal = 0,
                          const std::string& signal_at = "");
// Path of a built tool (imunity-prep, imunity-harmonize, ...); throws naming the path when it is not built.
std::string tool_path(const std::string& name);
// Files under `dir` whose name contains ".tmp-" (left-over temporaries of atomic writes).
std::vector<std::string> temp_leftovers(const std::string& dir);

}  // namespace im::test
