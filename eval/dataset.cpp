// Subject discovery and matching between the before/after/truth/mask folders, manifests, covariates.
#include "eval/dataset.h"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>

#include "io/error.h"
#include "io/nifti_name.h"

namespace fs = std::filesystem;

namespace im::eval {

namespace {

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::vector<std::string> list_nifti(const std::string& dir, bool include_masks) {
  std::vector<std::string> out;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) io::fail(dir, "not a folder");
  for (auto it = fs::recursive_directory_iterator(dir, fs::directory_options::follow_directory_symlink, ec);
       it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (ec) io::fail(dir, "cannot list the folder (" + ec.message() + ")");
    const std::string name = it->path().filename().string();
    if (!name.empty() && name[0] == '.') {
      if (it->is_directory()) it.disable_recursion_pending();
      continue;
    }
    if (!it->is_regular_file() || !io::has_nifti_extension(name)) continue;
    if (!include_masks && is_mask_name(name)) continue;
    out.push_back(it->path().lexically_relative(dir).generic_string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::string parent_of(const std::string& rel) { return fs::path(rel).parent_path().generic_string(); }

std::string first_component(const std::string& rel) {
  const auto p = rel.find('/');
  return p == std::string::npos ? std::string() : rel.substr(0, p);
}

// key -> relative paths under one folder.
struct Index {
  std::string dir;
  std::map<std::string, std::vector<std::string>> by_key;
  Index(const std::string& d, bool include_masks) : dir(d) {
    for (const std::string& rel : list_nifti(d, include_masks)) by_key[subject_key(rel)].push_back(rel);
  }
  // The match for a subject whose before volume is at `before_rel`: the file with this key in the
  // same relative folder; else the only one in this folder's top level (a flat folder, e.g. the
  // reference site's); else, for a flat before folder, the only one anywhere. Returns "" when none
  // fits (a file of another site is not a match); throws when several fit equally.
  std::string find(const std::string& key, const std::string& before_rel, const std::string& what) const {
    const auto it = by_key.find(key);
    if (it == by_key.end()) return "";
    const std::string parent = parent_of(before_rel);
    std::vector<std::string> same, flat;
    for (const std::string& r : it->second) {
      if (parent_of(r) == parent) same.push_back(r);
      if (parent_of(r).empty()) flat.push_back(r);
    }
    const std::vector<std::string>* pick = !same.empty() ? &same : !flat.empty() ? &flat : nullptr;
    if (!pick && parent.empty()) pick = &it->second;
    if (!pick) return "";
    if (pick->size() == 1) return (fs::path(dir) / pick->front()).string();
    std::string list;
    for (const std::string& r : *pick) list += (list.empty() ? "" : ", ") + r;
    io::fail(dir, "several " + what + " volumes match subject '" + key + "' (" + list +
                      "); give the folder of one site, or use the same folder layout as --before");
  }
};

}  // namespace

std::string subject_key(const std::string& path) {
  std::string s = io::nifti_stem(path);
  static const char* suffixes[] = {"_desc-harmonized_T1w", "_desc-harmonized", "_harmonized", "_T1w", "_T1",
                                   "_DLMUSE", "_desc-brain_mask", "_brainmask", "_mask", "_labels", "_dseg"};
  // Case-insensitive, as imunity-harmonize names its outputs: patient01_T1W.nii.gz is patient01.
  for (bool changed = true; changed;) {
    changed = false;
    for (const char* suf : suffixes)
      if (io::ends_with_nocase(s, suf) && s.size() > std::string(suf).size()) {
        s.resize(s.size() - std::string(suf).size());
        changed = true;
      }
  }
  return s;
}

bool is_mask_name(const std::string& path) {
  const std::string s = io::nifti_stem(path);
  return io::ends_with_nocase(s, "mask") || io::ends_with_nocase(s, "_labels") || io::ends_with_nocase(s, "_dseg") ||
         io::ends_with_nocase(s, "_dlmuse");
}

std::vector<std::string> list_volumes(const std::string& dir) { return list_nifti(dir, false); }

std::vector<std::map<std::string, std::string>> read_tsv(const std::string& path) {
  std::ifstream f(path);
  if (!f) io::fail(path, "cannot open");
  std::vector<std::map<std::string, std::string>> rows;
  std::vector<std::string> header;
  std::string line;
  int lineno = 0;
  auto split = [](const std::string& l) {
    std::vector<std::string> out;
    std::stringstream ss(l);
    std::string field;
    while (std::getline(ss, field, '\t')) out.push_back(field);
    if (!l.empty() && l.back() == '\t') out.emplace_back();
    return out;
  };
  while (std::getline(f, line)) {
    ++lineno;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty() || line[0] == '#') continue;
    std::vector<std::string> fields = split(line);
    if (header.empty()) {
      for (std::string& h : fields) header.push_back(lower(h));
      continue;
    }
    if (fields.size() != header.size())
      io::fail(path, "line " + std::to_string(lineno) + ": " + std::to_string(fields.size()) + " fields, the header has " +
                         std::to_string(header.size()) + " (fields are separated by tabs)");
    std::map<std::string, std::string> row;
    for (size_t i = 0; i < header.size(); ++i) row[header[i]] = fields[i];
    rows.push_back(row);
  }
  if (header.empty()) io::fail(path, "empty file (a header row is expected)");
  return rows;
}

Dataset discover(const DatasetOptions& o) {
  Dataset ds;
  if (o.before_dir.empty() || o.after_dir.empty()) throw io::Error("discover: --before and --after are required");
  const Index after(o.after_dir, false);
  std::unique_ptr<Index> truth, masks;
  if (!o.truth_dir.empty()) truth = std::make_unique<Index>(o.truth_dir, false);
  if (o.mask_source == MaskSource::mask_dir || o.mask_source == MaskSource::labels_dir) {
    if (o.mask_dir.empty()) throw io::Error("discover: a mask or labels folder is required for this mask source");
    masks = std::make_unique<Index>(o.mask_dir, true);
  }
  // The subjects: manifest rows, or every volume under --before.
  std::vector<Subject> subjects;
  if (!o.manifest.empty()) {
    const auto rows = read_tsv(o.manifest);
    const Index before(o.before_dir, false);
    int line = 1;
    for (const auto& row : rows) {
      ++line;
      Subject s;
      const auto site = row.find("site");
      if (site == row.end()) io::fail(o.manifest, "no `site` column");
      s.site = site->second;
      if (auto p = row.find("path"); p != row.end() && !p->second.empty()) {
        fs::path path = p->second;
        if (path.is_relative()) {
          const fs::path a = fs::path(o.before_dir) / path, b = fs::path(o.manifest).parent_path() / path;
          path = fs::exists(a) ? a : b;
        }
        if (!fs::exists(path)) io::fail(o.manifest, "row " + std::to_string(line) + ": no such volume: " + p->second);
        s.before = path.string();
        s.rel = p->second;
        s.key = subject_key(s.before);
      } else if (auto k = row.find("subject"); k != row.end() && !k->second.empty()) {
        s.key = k->second;
        s.before = before.find(s.key, s.site + "/x", "before");
        if (s.before.empty())
          io::fail(o.manifest, "row " + std::to_string(line) + ": no volume for subject '" + s.key + "' under " + o.before_dir);
        s.rel = fs::path(s.before).lexically_relative(o.before_dir).generic_string();
      } else {
        io::fail(o.manifest, "row " + std::to_string(line) + ": needs a `path` or a `subject`");
      }
      for (const auto& [col, val] : row)
        if (col != "path" && col != "subject" && col != "site") s.covariates[col] = val;
      subjects.push_back(s);
    }
  } else {
    for (const std::string& rel : list_volumes(o.before_dir)) {
      Subject s;
      s.rel = rel;
      s.before = (fs::path(o.before_dir) / rel).string();
      s.key = subject_key(rel);
      s.site = first_component(rel);
      subjects.push_back(s);
    }
  }
  if (subjects.empty()) io::fail(o.before_dir, "no NIfTI volumes (.nii, .nii.gz) found");
  // Covariates from a participants table.
  std::map<std::string, std::map<std::string, std::string>> cov;
  if (!o.covariates.empty())
    for (const auto& row : read_tsv(o.covariates)) {
      auto id = row.find("participant_id");
      if (id == row.end()) id = row.find("subject");
      if (id == row.end()) io::fail(o.covariates, "needs a `participant_id` or `subject` column");
      cov[id->second] = row;
    }
  std::vector<std::string> missing_after;
  for (Subject& s : subjects) {
    s.after = after.find(s.key, s.rel, "harmonized");
    if (s.after.empty()) {
      missing_after.push_back(s.rel);
      continue;
    }
    if (truth) {
      s.truth = truth->find(s.key, s.rel, "ground-truth");
      if (s.truth.empty()) io::fail(o.truth_dir, "no ground-truth volume for subject '" + s.key + "' (" + s.before + ")");
    }
    switch (o.mask_source) {
      case MaskSource::automatic: {
        const fs::path dir = fs::path(s.before).parent_path();
        const std::string stem = io::nifti_stem(s.before);
        for (const std::string& cand : {stem + "_mask.nii.gz", stem + "_mask.nii", s.key + "_mask.nii.gz", s.key + "_mask.nii"})
          if (fs::exists(dir / cand)) {
            s.mask = (dir / cand).string(), s.mask_kind = "mask";
            break;
          }
        if (s.mask.empty()) s.mask_kind = "auto";
        break;
      }
      case MaskSource::auto_only: s.mask_kind = "auto"; break;
      case MaskSource::mask_dir:
      case MaskSource::labels_dir:
        s.mask = masks->find(s.key, s.rel, "mask");
        if (s.mask.empty()) io::fail(o.mask_dir, "no mask or label volume for subject '" + s.key + "' (" + s.before + ")");
        s.mask_kind = o.mask_source == MaskSource::mask_dir ? "mask" : "labels";
        break;
    }
    if (auto c = cov.find(s.key); c != cov.end())
      for (const auto& [col, val] : c->second)
        if (col != "participant_id" && col != "subject" && !s.covariates.count(col)) s.covariates[col] = val;
  }
  if (!missing_after.empty()) {
    std::string list;
    for (size_t i = 0; i < missing_after.size() && i < 5; ++i) list += (i ? ", " : "") + missing_after[i];
    if (missing_after.size() > 5) list += ", ...";
    io::fail(o.after_dir, std::to_string(missing_after.size()) + " of " + std::to_string(subjects.size()) +
                              " before volumes have no harmonized volume here (matched by subject name, e.g. "
                              "<site>/<subject>.nii.gz or <subject>_desc-harmonized_T1w.nii.gz): " + list);
  }
  std::stable_sort(subjects.begin(), subjects.end(), [](const Subject& a, const Subject& b) {
    return a.site != b.site ? a.site < b.site : a.key < b.key;
  });
  for (const Subject& s : subjects)
    if (std::find(ds.sites.begin(), ds.sites.end(), s.site) == ds.sites.end()) ds.sites.push_back(s.site);
  std::sort(ds.sites.begin(), ds.sites.end());
  if (ds.sites.size() == 1 && ds.sites[0].empty())
    ds.warnings.push_back("no sites: the volumes are not in per-site folders and no manifest was given; "
                          "site classification is skipped");
  ds.subjects = std::move(subjects);
  return ds;
}

}  // namespace im::eval
