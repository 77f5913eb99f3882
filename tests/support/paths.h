// Where tests find the shared real data (../shared/data beside the checkout, or $IMUNITY_DATA) and fixtures.
#pragma once
#include <string>

namespace im::test {
// Folder of the real MRI data. The data is part of what the suite needs (CI always has it): when the
// folder does not exist this throws, so the test fails with the path in its message.
std::string data_dir();
// data_dir() / rel, which must exist (a file or a folder); throws naming the path otherwise.
std::string data_path(const std::string& rel);
// tests/reference/fixtures inside the source tree.
std::string fixture_dir();
// A fresh, empty scratch folder under the build tree, unique to the calling test.
std::string scratch_dir(const std::string& name);
}  // namespace im::test
