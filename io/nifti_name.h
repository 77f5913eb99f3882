// NIfTI file names: the .nii / .nii.gz extension, recognized in any case (scanner exports and
// Windows shares write "T1.NII.GZ"), and a file's name without it. The one place every program,
// the evaluation and the tests ask.
#pragma once
#include <string>

namespace im::io {

// True when `s` ends with `suffix`, ignoring ASCII case (BIDS suffixes such as "_T1w" too).
bool ends_with_nocase(const std::string& s, const std::string& suffix);
// True when the name ends in .nii or .nii.gz, in any case.
bool has_nifti_extension(const std::string& path);
// True when the name ends in .nii.gz, in any case: written gzip-compressed.
bool is_gz_path(const std::string& path);
// `name` without a trailing .nii.gz or .nii (any case); unchanged when it has neither, or when it is
// nothing but the extension (".nii.gz" is a hidden file, not a subject). Folders are kept.
std::string strip_nifti_extension(const std::string& name);
// The file name without its folder and without its NIfTI extension: "a/IXI002-HH_T1.nii.gz" ->
// "IXI002-HH_T1".
std::string nifti_stem(const std::string& path);

}  // namespace im::io
