// Manifest parsing with errors that name the file and line.
#include "tools/train/manifest.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "io/error.h"

namespace fs = std::filesystem;

namespace im::tools {

std::vector<std::string> Manifest::sites() const {
  std::vector<std::string> s;
  for (const ManifestRow& r : rows)
    if (std::find(s.begin(), s.end(), r.site) == s.end()) s.push_back(r.site);
  return s;
}

namespace {
std::vector<std::string> split_tabs(const std::string& line) {
  std::vector<std::string> out;
  std::string cur;
  std::istringstream is(line);
  while (std::getline(is, cur, '\t')) out.push_back(cur);
  if (!line.empty() && line.back() == '\t') out.emplace_back();
  for (std::string& f : out) {
    while (!f.empty() && (f.back() == '\r' || f.back() == ' ')) f.pop_back();
    while (!f.empty() && f.front() == ' ') f.erase(f.begin());
  }
  return out;
}
std::string resolve(const fs::path& base, const std::string& p) {
  if (p.empty() || fs::path(p).is_absolute()) return p;
  return (base / p).lexically_normal().string();
}
}  // namespace

Manifest read_manifest(const std::string& path, bool check_files) {
  std::ifstream in(path);
  if (!in) io::fail(path, "cannot open the manifest");
  Manifest m;
  m.file = path;
  fs::path base = fs::path(path).parent_path();
  std::string line;
  int lineno = 0;
  std::map<std::string, int> seen;  // each volume (its resolved path) -> the line that lists it
  while (std::getline(in, line)) {
    ++lineno;
    if (line.empty() || line[0] == '#') continue;
    if (m.header.empty()) {
      m.header = split_tabs(line);
      for (const char* need : {"path", "site"})
        if (std::find(m.header.begin(), m.header.end(), need) == m.header.end())
          io::fail(path, std::string("the header has no \"") + need + "\" column (columns are tab-separated: path, site, [mask|labels], covariates...)");
      continue;
    }
    std::vector<std::string> f = split_tabs(line);
    if (f.size() != m.header.size())
      io::fail(path, "line " + std::to_string(lineno) + " has " + std::to_string(f.size()) + " fields, the header has " +
                         std::to_string(m.header.size()));
    ManifestRow r;
    r.line = lineno;
    for (size_t i = 0; i < f.size(); ++i) r.columns[m.header[i]] = f[i];
    r.path = resolve(base, r.columns["path"]);
    r.site = r.columns["site"];
    if (r.columns.count("mask")) r.mask = resolve(base, r.columns["mask"]);
    if (r.columns.count("labels")) r.labels = resolve(base, r.columns["labels"]);
    if (r.path.empty() || r.site.empty()) io::fail(path, "line " + std::to_string(lineno) + ": empty path or site");
    if (check_files)
      for (const std::string* p : {&r.path, &r.mask, &r.labels})
        if (!p->empty() && !fs::exists(*p)) io::fail(path, "line " + std::to_string(lineno) + ": no such file " + *p);
    // One scan listed twice would count twice, and could land in training and validation at once.
    std::error_code ec;
    const fs::path canonical = check_files ? fs::weakly_canonical(r.path, ec) : fs::path();
    const std::string key = canonical.empty() || ec ? fs::path(r.path).lexically_normal().string() : canonical.string();
    if (auto [it, fresh] = seen.emplace(key, lineno); !fresh)
      io::fail(path, "line " + std::to_string(lineno) + " lists the same volume as line " + std::to_string(it->second) + " (" +
                         r.columns["path"] + "): each scan must appear once");
    m.rows.push_back(std::move(r));
  }
  if (m.rows.empty()) io::fail(path, "the manifest lists no volumes");
  return m;
}

}  // namespace im::tools
