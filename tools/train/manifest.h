// Training manifests: a BIDS-participants.tsv-like TSV with a header row. Columns: `path` (the
// volume), `site`, optionally `mask` or `labels` (a brain mask / label map on any grid), and any
// other columns (biological covariates such as age and sex, named in the config). Relative paths
// are relative to the manifest's folder.
#pragma once
#include <map>
#include <string>
#include <vector>

namespace im::tools {

struct ManifestRow {
  std::string path, site, mask, labels;
  std::map<std::string, std::string> columns;  // every column, raw
  int line = 0;
};

struct Manifest {
  std::string file;
  std::vector<std::string> header;
  std::vector<ManifestRow> rows;
  // Sites in order of first appearance.
  std::vector<std::string> sites() const;
};

// Throws im::io::Error naming the file and line on: a missing `path` or `site` column, a row with
// the wrong number of fields, an empty path or site, a volume listed twice (the same file however
// its path is written), or (check_files) a file that does not exist.
Manifest read_manifest(const std::string& path, bool check_files = true);

}  // namespace im::tools
