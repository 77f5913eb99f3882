// Progress reporting for long work: a redrawn bar on a terminal, plain lines otherwise (logs, CI).
#pragma once
#include <chrono>
#include <cstdint>
#include <string>

namespace im::tools {

class Progress {
 public:
  // total: units of work (steps, volumes); label: what they are; first: units already done before
  // this process started (a resumed run), left out of the rate behind the ETA.
  Progress(int64_t total, std::string label, bool enabled = true, int64_t first = 0);
  // Reports `done` units and a free-form status; plain-line mode prints at most every few seconds.
  void update(int64_t done, const std::string& status);
  // Ends the bar (newline on a terminal) with a final status.
  void finish(const std::string& status);
  double elapsed_s() const;

 private:
  int64_t total_, first_;
  std::string label_;
  bool enabled_, tty_;
  std::chrono::steady_clock::time_point start_, last_print_;
};

// "1h02m", "3m05s", "12.3s"
std::string format_duration(double seconds);

}  // namespace im::tools
