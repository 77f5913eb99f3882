// Paths of the shared data, the committed fixtures and per-test scratch folders.
#include "support/paths.h"

#include <cstdlib>
#include <filesystem>

namespace fs = std::filesystem;

namespace im::test {

std::string data_dir() {
  if (const char* env = std::getenv("IMUNITY_DATA"); env && *env) return env;
  fs::path p = fs::path(IMUNITY_SOURCE_DIR).parent_path() / "shared" / "data";
  return fs::is_directory(p) ? p.string() : std::string();
}

std::string fixture_dir() { return (fs::path(IMUNITY_SOURCE_DIR) / "tests" / "reference" / "fixtures").string(); }

std::string scratch_dir(const std::string& name) {
  fs::path p = fs::path(IMUNITY_BINARY_DIR) / "test-scratch" / name;
  fs::remove_all(p);
  fs::create_directories(p);
  return p.string();
}

}  // namespace im::test
