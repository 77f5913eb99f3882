// Terminal-aware progress bar.
#include "tools/common/progress.h"

#include <unistd.h>

#include <cstdio>

namespace im::tools {

Progress::Progress(int64_t total, std::string label, bool enabled, int64_t first)
    : total_(total), first_(first), label_(std::move(label)), enabled_(enabled), tty_(isatty(fileno(stderr)) != 0) {
  start_ = last_print_ = std::chrono::steady_clock::now();
}

double Progress::elapsed_s() const {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
}

std::string format_duration(double s) {
  char buf[32];
  if (s >= 3600)
    std::snprintf(buf, sizeof buf, "%dh%02dm", static_cast<int>(s / 3600), static_cast<int>(s / 60) % 60);
  else if (s >= 60)
    std::snprintf(buf, sizeof buf, "%dm%02ds", static_cast<int>(s / 60), static_cast<int>(s) % 60);
  else
    std::snprintf(buf, sizeof buf, "%.1fs", s);
  return buf;
}

void Progress::update(int64_t done, const std::string& status) {
  if (!enabled_) return;
  auto now = std::chrono::steady_clock::now();
  double since = std::chrono::duration<double>(now - last_print_).count();
  double el = elapsed_s();
  double eta = done > first_ && total_ > done ? el / static_cast<double>(done - first_) * static_cast<double>(total_ - done) : 0.0;
  if (tty_) {
    if (since < 0.1 && done < total_) return;
    const int width = 24;
    int fill = total_ > 0 ? static_cast<int>(width * done / total_) : 0;
    std::string bar(static_cast<size_t>(fill), '#');
    bar.resize(width, '.');
    std::fprintf(stderr, "\r%s [%s] %lld/%lld %s ETA %s\033[K", label_.c_str(), bar.c_str(), static_cast<long long>(done),
                 static_cast<long long>(total_), status.c_str(), format_duration(eta).c_str());
  } else {
    if (since < 5.0 && done < total_ && done > 1) return;
    std::fprintf(stderr, "%s %lld/%lld %s elapsed %s ETA %s\n", label_.c_str(), static_cast<long long>(done),
                 static_cast<long long>(total_), status.c_str(), format_duration(el).c_str(), format_duration(eta).c_str());
  }
  std::fflush(stderr);
  last_print_ = now;
}

void Progress::finish(const std::string& status) {
  if (!enabled_) return;
  if (tty_) std::fprintf(stderr, "\r\033[K");
  std::fprintf(stderr, "%s done: %s (%s)\n", label_.c_str(), status.c_str(), format_duration(elapsed_s()).c_str());
}

}  // namespace im::tools
