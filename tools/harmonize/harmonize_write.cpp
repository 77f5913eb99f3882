// The outputs of imunity-harmonize: one volume and its sidecar, written atomically; the dataset description.
#include "tools/harmonize/harmonize_write.h"

#include <filesystem>

#include "io/atomic_file.h"
#include "io/error.h"
#include "io/json_io.h"
#include "io/nifti.h"
#include "tools/common/sha256.h"
#include "tools/harmonize/harmonize_resume.h"

namespace fs = std::filesystem;

namespace im::tools {

namespace {

nlohmann::json intensity_note(const HarmonizeOptions& o) {
  return o.restore_intensity ? "input units: the output mapped back through the inverse of the input's normalization"
                             : "normalized: [0, 1] with the white-matter peak near 0.7 (the model's scale), then harmonized";
}

}  // namespace

void write_outputs(const BatchJob& job, HarmonizedVolume& v, bool redo, const ModelSet& models, const TargetCode& target,
                   const BatchOptions& o) {
  auto t = Clock::now();
  const io::Volume out = finish_output(v.prepared, v.harmonized, o.harmonize);
  v.timings["unprepare"] = ms_between(t, Clock::now());
  require_finite(out, "the output");
  t = Clock::now();
  io::WriteOptions wo;
  wo.gzip_level = o.gzip_level;
  std::vector<uint8_t> bytes = io::encode_volume(out, true, wo);
  v.timings["encode"] = ms_between(t, Clock::now());
  t = Clock::now();
  nlohmann::json side = {{"tool", "imunity-harmonize"},
                         {"version", IMUNITY_VERSION},
                         {"input", job.input},
                         {"output", job.output},
                         {"output_sha256", sha256_hex(bytes.data(), bytes.size())},
                         {"model", models_record(models)},
                         {"target", target.summary()},
                         {"intensity", intensity_note(o.harmonize)},
                         {"outside_mask", o.harmonize.outside == Outside::keep  ? "kept (the input on the same scale)"
                                          : o.harmonize.outside == Outside::map ? "through the same map as the brain"
                                                                                 : "zero"},
                         {"mask", v.prepared.prepared.record.mask_source},
                         {"options", o.options},
                         {"preprocessing", io::record_to_json(v.prepared.prepared.record)},
                         {"thick_slices", v.prepared.thick.to_json()},
                         {"device", o.device_description},
                         {"network", v.stats.to_json()},
                         {"output_stage", v.harmonized.summary()},
                         {"warnings", v.warnings}};
  fs::create_directories(fs::path(job.output).parent_path());
  // Both files are written as temporaries first; then the volume is renamed into place, then the
  // sidecar: the sidecar is the commit record (a volume without it is an interrupted write, redone
  // by the next run). Should the second rename fail, the volume placed by the first is taken back.
  io::AtomicFileSet volume_file, sidecar_file;
  volume_file.add(job.output, bytes);
  v.timings["write"] = ms_between(t, Clock::now());
  v.timings["total"] = ms_between(v.start, Clock::now());
  side["timings_ms"] = v.timings;
  sidecar_file.add(job.sidecar, side.dump(2) + "\n");
  const bool replace = o.overwrite || redo;
  volume_file.commit(replace);
  try {
    sidecar_file.commit(replace);
  } catch (...) {
    std::error_code ec;
    fs::remove(job.output, ec);
    throw;
  }
}

nlohmann::json dataset_description() {
  return {{"Name", "ImUnity harmonized T1-weighted images"},
          {"BIDSVersion", "1.8.0"},
          {"DatasetType", "derivative"},
          {"GeneratedBy", {{{"Name", "imunity"}, {"Version", IMUNITY_VERSION},
                            {"Description", "imunity-harmonize: ImUnity VAE-GAN harmonization of T1-weighted MRI"}}}}};
}

void write_dataset_description(const std::string& out_dir, bool overwrite) {
  const std::string path = (fs::path(out_dir) / "dataset_description.json").string();
  if (!overwrite && fs::exists(path)) return;
  fs::create_directories(out_dir);
  try {
    io::write_json(path, dataset_description(), overwrite);
  } catch (const io::Error&) {
    if (!fs::exists(path)) throw;  // another shard wrote it first: same content
  }
}

}  // namespace im::tools
