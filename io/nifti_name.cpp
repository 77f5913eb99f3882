// NIfTI file names: extension tests and stems, case-insensitive.
#include "io/nifti_name.h"

#include <cctype>
#include <filesystem>

namespace im::io {

bool ends_with_nocase(const std::string& s, const std::string& suffix) {
  if (s.size() < suffix.size()) return false;
  const size_t at = s.size() - suffix.size();
  for (size_t i = 0; i < suffix.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(s[at + i])) != std::tolower(static_cast<unsigned char>(suffix[i]))) return false;
  return true;
}

bool has_nifti_extension(const std::string& path) { return ends_with_nocase(path, ".nii") || ends_with_nocase(path, ".nii.gz"); }

bool is_gz_path(const std::string& path) { return ends_with_nocase(path, ".nii.gz"); }

std::string strip_nifti_extension(const std::string& name) {
  for (const std::string ext : {".nii.gz", ".nii"})
    if (name.size() > ext.size() && ends_with_nocase(name, ext)) return name.substr(0, name.size() - ext.size());
  return name;
}

std::string nifti_stem(const std::string& path) {
  return strip_nifti_extension(std::filesystem::path(path).filename().string());
}

}  // namespace im::io
