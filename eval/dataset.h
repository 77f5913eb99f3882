// Which volumes the evaluation compares: subjects found in the --before folder (or a manifest),
// matched by name to their harmonized volume, ground truth, brain mask and covariates.
#pragma once
#include <map>
#include <string>
#include <vector>

namespace im::eval {

// Where each subject's brain mask comes from.
enum class MaskSource {
  automatic,  // "<key>_mask.nii.gz" next to the before volume (what imunity-simulate writes), else
              // io::auto_mask of the before volume (head/foreground, not skull stripping)
  auto_only,  // always io::auto_mask of the before volume
  mask_dir,   // a mask file per subject in a folder (value > 0.5 is brain), any grid
  labels_dir  // a label map per subject in a folder (label > 0 is brain), any grid
};

struct DatasetOptions {
  std::string before_dir, after_dir, truth_dir;  // truth optional
  std::string manifest;     // optional TSV: `path` or `subject`, `site`, optional covariates (age, sex, ...)
  std::string covariates;   // optional TSV (e.g. IXI participants.tsv): `participant_id` or `subject`
  MaskSource mask_source = MaskSource::automatic;
  std::string mask_dir;     // for mask_dir / labels_dir
};

struct Subject {
  std::string key;   // subject id: the file name without extension and known suffixes (subject_key)
  std::string site;  // from the manifest, else the first-level folder under --before ("" if flat)
  std::string rel;   // path of the before volume relative to --before (or as in the manifest)
  std::string before, after, truth, mask;  // absolute or as given; truth/mask empty when none
  std::string mask_kind;                   // "mask", "labels", "auto"
  std::map<std::string, std::string> covariates;  // lower-case column name -> raw value
};

struct Dataset {
  std::vector<Subject> subjects;        // sorted by site, then key
  std::vector<std::string> sites;       // sorted
  std::vector<std::string> warnings;    // things the user should know (skipped files, ...)
};

// The subject id of a file name: drops the folder, ".nii"/".nii.gz", then repeatedly any of the
// suffixes "_desc-harmonized_T1w", "_desc-harmonized", "_harmonized", "_T1w", "_T1", "_DLMUSE",
// "_desc-brain_mask", "_brainmask", "_mask", "_labels", "_dseg".
// "IXI013-HH-1212_T1_DLMUSE.nii.gz" -> "IXI013-HH-1212"; "sub-01_desc-harmonized_T1w.nii.gz" -> "sub-01".
std::string subject_key(const std::string& path);
// True for files that are masks or label maps by name (…mask, …_labels, …_dseg, …_DLMUSE), which
// the image folders skip.
bool is_mask_name(const std::string& path);

// NIfTI files under dir (recursive; hidden files and folders, and mask/label files, skipped), as
// paths relative to dir, sorted.
std::vector<std::string> list_volumes(const std::string& dir);

// Builds the dataset; throws io::Error with a message naming the folder or file on: a missing
// folder, no volumes, a before volume without a harmonized match (or with several), a manifest row
// whose volume is missing, a subject without the requested mask or truth.
Dataset discover(const DatasetOptions& options);

// A TSV with a header row: column name (lower-cased) -> value, per row. Throws io::Error naming the
// file and line on a row with the wrong number of fields.
std::vector<std::map<std::string, std::string>> read_tsv(const std::string& path);

}  // namespace im::eval
