// Where tests find the shared real data (../shared/data beside the checkout, or $IMUNITY_DATA) and fixtures.
#pragma once
#include <string>

namespace im::test {
// Folder of the real MRI data; empty when it is absent (tests that need it then say why they skip).
std::string data_dir();
// tests/reference/fixtures inside the source tree.
std::string fixture_dir();
// A fresh, empty scratch folder under the build tree, unique to the calling test.
std::string scratch_dir(const std::string& name);
}  // namespace im::test
