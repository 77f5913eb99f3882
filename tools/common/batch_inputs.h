// The inputs of the batch programs (imunity-harmonize, imunity-brainmask): files, a folder or a BIDS
// dataset; output names; per-input masks from a folder; shards for cluster job arrays.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "io/prep.h"

namespace im::tools {

struct BatchJob {
  std::string input;            // the input volume
  std::string name;             // output stem: <name>_desc-harmonized_T1w
  std::string output, sidecar;  // imunity-harmonize's: <out>/[sub-X/[ses-Y/]anat/]<name>_desc-harmonized_T1w.nii.gz and .json
  io::MaskSpec mask;            // where its brain mask comes from
  std::string mask_error;       // a per-input mask that could not be found: the job fails with this
};

// The input file name without .nii/.nii.gz and without a trailing "_T1w" (any case).
std::string output_stem(const std::string& input_path);
// "<stem>_desc-harmonized_T1w.nii.gz"
std::string output_file_name(const std::string& input_path);

// NIfTI files (.nii, .nii.gz) directly in `dir` (not recursive), sorted. Throws when `dir` is not a
// folder. Hidden files (".x.nii.gz") are not inputs. An entry that cannot be examined (a symlink
// loop, ...) is listed when its name is a NIfTI name (it then fails alone, as an input).
std::vector<std::string> list_nifti_dir(const std::string& dir);
// BIDS T1w images: DIR/sub-*/anat/*_T1w.nii[.gz] and DIR/sub-*/ses-*/anat/*_T1w.nii[.gz], sorted;
// `relative` receives each one's folder relative to DIR (sub-X/ses-Y/anat). Hidden entries are
// skipped; a folder that cannot be entered (a symlink loop, no permission) is skipped and described
// in `problems` ("<path>: <why>"), the scan goes on.
std::vector<std::string> list_bids_t1w(const std::string& dir, std::vector<std::string>* relative,
                                       std::vector<std::string>* problems = nullptr);
// True when the two paths name the same folder (after resolving ".", ".." and symlinks; either may
// not exist yet).
bool same_folder(const std::string& a, const std::string& b);
// Creates `dir` if needed and checks that a file can be created in it (by creating and removing
// one), so that a folder the run cannot write is an error before any input is computed. Throws
// io::Error naming the folder.
void require_writable_folder(const std::string& dir);

// Jobs for the inputs, sorted by input path, outputs flat in out_dir (relative_dirs: per input, a
// folder under out_dir, for BIDS). Throws io::Error when two inputs would write the same output.
std::vector<BatchJob> make_jobs(std::vector<std::string> inputs, const std::string& out_dir,
                                    const std::vector<std::string>& relative_dirs = {});

// Per-input masks from a folder: the file in `dir` named like the input, or starting with the
// input's stem (then without "_T1w") followed by "_" (e.g. IXI013-HH-1212_T1_DLMUSE.nii.gz for
// IXI013-HH-1212_T1.nii.gz, sub-01_desc-brain_mask.nii.gz for sub-01_T1w.nii.gz). None or several
// candidates: the job fails with a message naming them.
void assign_mask_dir(std::vector<BatchJob>& jobs, const std::string& dir, io::MaskSpec::Kind kind);

// Part `index` of `count` (0-based) of a job list: job k belongs to shard k mod count, so every job
// is in exactly one shard and the shards differ in size by at most one.
struct Shard {
  int64_t index = 0, count = 1;
};
// "I/N" (0 <= I < N), or "slurm": I = SLURM_ARRAY_TASK_ID - SLURM_ARRAY_TASK_MIN,
// N = SLURM_ARRAY_TASK_COUNT. Throws io::Error on anything else.
Shard parse_shard(const std::string& text);
std::vector<BatchJob> select_shard(const std::vector<BatchJob>& jobs, const Shard& shard);

}  // namespace im::tools
