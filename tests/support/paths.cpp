// Paths of the shared data, the committed fixtures and per-test scratch folders.
#include "support/paths.h"

#include <cstdlib>
#include <filesystem>
#include <stdexcept>

namespace fs = std::filesystem;

namespace im::test {

std::string data_dir() {
  const char* env = std::getenv("IMUNITY_DATA");
  const bool from_env = env && *env;
  const fs::path p = from_env ? fs::path(env) : fs::path(IMUNITY_SOURCE_DIR).parent_path() / "shared" / "data";
  if (!fs::is_directory(p))
    throw std::runtime_error("the shared data folder " + p.string() + " does not exist (" +
                             (from_env ? "from IMUNITY_DATA" : "../shared/data beside the checkout; set IMUNITY_DATA") + ")");
  return p.string();
}

std::string data_path(const std::string& rel) {
  const fs::path p = fs::path(data_dir()) / rel;
  if (!fs::exists(p)) throw std::runtime_error("the shared data lacks " + p.string());
  return p.string();
}

std::string fixture_dir() { return (fs::path(IMUNITY_SOURCE_DIR) / "tests" / "reference" / "fixtures").string(); }

std::string scratch_dir(const std::string& name) {
  fs::path p = fs::path(IMUNITY_BINARY_DIR) / "test-scratch" / name;
  fs::remove_all(p);
  fs::create_directories(p);
  return p.string();
}

}  // namespace im::test
