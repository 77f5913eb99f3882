// A small real multi-site dataset for the training tests: IXI-HH volumes passed through virtual
// sites (io/simulate), written once per build folder and reused.
#pragma once
#include <string>
#include <vector>

namespace im::test {

// Writes (once) `subjects` IXI subjects through each of the named docs/sites/ files and returns the
// path of a manifest (path, site, mask). Throws naming the path when the shared data is absent.
std::string virtual_site_manifest(int subjects, const std::vector<std::string>& site_files);

}  // namespace im::test
