// Existing outputs against the run about to write them: skip, redo or refuse.
#include "tools/harmonize/harmonize_resume.h"

#include <filesystem>
#include <map>

#include "io/json_io.h"
#include "tools/common/sha256.h"

namespace fs = std::filesystem;
using nlohmann::json;

namespace im::tools {

namespace {

// The SHA-256 of each model in a sidecar's "model.per_orientation", or of each code in its
// "target.codes", by orientation.
std::map<std::string, std::string> hashes(const json& per_key) {
  std::map<std::string, std::string> out;
  if (per_key.is_object())
    for (auto it = per_key.begin(); it != per_key.end(); ++it)
      if (it.value().is_object()) out[it.key()] = it.value().value("sha256", "");
  return out;
}

const json& field(const json& j, const char* key) {
  static const json none;
  return j.is_object() && j.contains(key) ? j[key] : none;
}

std::string text(const json& j) { return j.is_string() ? j.get<std::string>() : j.dump(); }

// Why a sidecar does not record this run of `input` ("" when it does).
std::string other_run(const json& side, const std::string& input, const RunRecord& run) {
  if (text(field(side, "tool")) != "imunity-harmonize") return "its sidecar was not written by imunity-harmonize";
  const std::string made_from = text(field(side, "input"));
  std::error_code ec;
  if (made_from != input && !fs::equivalent(made_from, input, ec)) return "it was made from another input (" + made_from + ")";
  const json& model = field(side, "model");
  if (field(model, "sha256") != field(run.models, "sha256") ||
      hashes(field(model, "per_orientation")) != hashes(field(run.models, "per_orientation")))
    return "it was made with another model (" + text(field(model, "path")) + ")";
  const json& target = field(side, "target");
  if (hashes(field(target, "codes")) != hashes(field(run.target, "codes")))
    return "it was harmonized towards another target (" + text(field(target, "kind")) + " " + text(field(target, "source")) +
           "; this run: " + text(field(run.target, "kind")) + " " + text(field(run.target, "source")) + ")";
  for (const std::string& key : run.compared_options) {
    const json& there = field(field(side, "options"), key.c_str());
    const json& here = field(run.options, key.c_str());
    if (there != here) return "it was made with " + key + " = " + there.dump() + " (this run: " + here.dump() + ")";
  }
  return "";
}

}  // namespace

json models_record(const ModelSet& models) {
  json j = {{"path", models.axial().path}, {"sha256", models.axial().sha256}, {"step", models.axial().info.step},
            {"input_size", {models.axial().info.model.image_h, models.axial().info.model.image_w}}};
  json per_axis = json::object();
  for (int a = 0; a < 3; ++a)
    if (models.per_axis[a])
      per_axis[io::slice_axis_name(static_cast<io::SliceAxis>(a))] = {{"path", models.per_axis[a]->path},
                                                                        {"sha256", models.per_axis[a]->sha256},
                                                                        {"trained_on", models.per_axis[a]->orientation}};
  j["per_orientation"] = per_axis;
  return j;
}

Existing examine_outputs(const std::string& input, const std::string& output, const std::string& sidecar, const RunRecord& run) {
  const bool has_volume = fs::exists(output), has_sidecar = fs::exists(sidecar);
  if (!has_volume && !has_sidecar) return {};
  if (!has_sidecar)
    return {Existing::Verdict::redo, "the volume was there without its sidecar, which is written last (an interrupted run)"};
  json side;
  try {
    side = io::read_json(sidecar);
  } catch (const std::exception& e) {
    return {Existing::Verdict::other_run, std::string(e.what()) + ": not a readable sidecar: use --overwrite to replace it"};
  }
  if (const std::string why = other_run(side, input, run); !why.empty())
    return {Existing::Verdict::other_run, output + ": exists, but " + why + ": use --overwrite to replace it, or another --out-dir"};
  if (!has_volume) return {Existing::Verdict::redo, "the sidecar was there without its volume"};
  if (!side.contains("output_sha256"))
    return {Existing::Verdict::redo, "the sidecar (of an older imunity) has no SHA-256 of the volume to check it by"};
  if (side["output_sha256"] != sha256_file(output))
    return {Existing::Verdict::redo, "the volume does not match the SHA-256 in its sidecar (truncated or changed)"};
  return {Existing::Verdict::done, ""};
}

}  // namespace im::tools
