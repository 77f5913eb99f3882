// Builds and caches the virtual-site training set of the training tests.
#include "train/train_data.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <unistd.h>

#include "io/nifti.h"
#include "io/nifti_name.h"
#include "io/prep.h"
#include "io/simulate.h"
#include "support/paths.h"

namespace fs = std::filesystem;

namespace im::test {

std::string virtual_site_manifest(int subjects, const std::vector<std::string>& site_files) {
  const std::string data = data_dir();
  std::string key = "sim" + std::to_string(subjects);
  for (const std::string& s : site_files) key += "_" + fs::path(s).stem().string();
  const fs::path root = fs::path(IMUNITY_BINARY_DIR) / "test-data" / key;
  const fs::path manifest = root / "manifest.tsv";
  if (fs::exists(manifest)) return manifest.string();
  fs::create_directories(root.parent_path());
  // Built in a private folder then renamed into place, so that tests running in parallel never see
  // (or write into) a half-made dataset; paths in the manifest are relative to it.
  const fs::path tmp = root.string() + ".tmp-" + std::to_string(::getpid());
  fs::remove_all(tmp);
  fs::create_directories(tmp);
  std::vector<fs::path> t1;
  for (const auto& e : fs::directory_iterator(fs::path(data) / "ixi_hh_2mm" / "t1")) t1.push_back(e.path());
  std::sort(t1.begin(), t1.end());
  t1.resize(std::min<size_t>(t1.size(), static_cast<size_t>(subjects)));
  std::string rows = "path\tsite\tmask\n";
  for (const std::string& sf : site_files) {
    io::Site site = io::read_sites((fs::path(IMUNITY_SOURCE_DIR) / "docs" / "sites" / sf).string()).at(0);
    fs::create_directories(tmp / site.name);
    for (const fs::path& p : t1) {
      const std::string subject = io::nifti_stem(p.string());
      fs::path labels = fs::path(data) / "ixi_hh_2mm" / "labels" / (subject + "_DLMUSE.nii.gz");
      io::Volume v = io::read_volume(p.string());
      io::Mask mask = io::read_label_mask(v, labels.string());
      io::Volume out = io::simulate_site(v, mask, site, 1, subject);
      const std::string img = site.name + "/" + subject + ".nii.gz";
      io::write_volume((tmp / img).string(), out);
      io::Volume mv = io::zeros_like(v);
      for (size_t i = 0; i < mask.size(); ++i) mv.data[i] = mask[i];
      const std::string mpath = site.name + "/" + subject + "_mask.nii.gz";
      io::write_volume((tmp / mpath).string(), mv);
      rows += img + "\t" + site.name + "\t" + mpath + "\n";
    }
  }
  std::ofstream(tmp / "manifest.tsv") << rows;
  std::error_code ec;
  fs::rename(tmp, root, ec);  // fails when a parallel test got there first: theirs is as good
  if (ec) fs::remove_all(tmp);
  return manifest.string();
}

}  // namespace im::test
