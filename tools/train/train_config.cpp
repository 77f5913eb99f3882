// Effective configuration and biological covariates for imunity-train.
#include "tools/train/train_config.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <set>

#include "io/error.h"
#include "kernels/check.h"

namespace im::tools {

namespace {
nlohmann::json parse_value(const std::string& v) {
  try {
    return nlohmann::json::parse(v);
  } catch (const std::exception&) {
    return v;  // a bare word: a string
  }
}

// One --set key=value: its section (model. or train., the default) and field, and the JSON value.
struct Override {
  bool model = false;
  std::string field;
  nlohmann::json value;
};
Override parse_override(const std::string& o) {
  const auto eq = o.find('=');
  IM_CHECK(eq != std::string::npos && eq > 0, "--set expects key=value, got \"" << o << "\"");
  Override r;
  r.field = o.substr(0, eq);
  r.model = r.field.rfind("model.", 0) == 0;
  if (r.model || r.field.rfind("train.", 0) == 0) r.field = r.field.substr(6);
  r.value = parse_value(o.substr(eq + 1));
  return r;
}
}  // namespace

TrainSetup assemble_setup(const std::string& config_file, const std::string& preset,
                          const std::vector<std::string>& overrides) {
  nlohmann::json file = nlohmann::json::object();
  if (!config_file.empty()) {
    std::ifstream in(config_file);
    if (!in) io::fail(config_file, "cannot open the config file");
    try {
      file = nlohmann::json::parse(in);
    } catch (const std::exception& e) {
      io::fail(config_file, std::string("invalid JSON: ") + e.what());
    }
    for (auto it = file.begin(); it != file.end(); ++it)
      if (it.key() != "model" && it.key() != "train")
        io::fail(config_file, "unknown top-level key \"" + it.key() + "\" (expected \"model\" and \"train\")");
  }
  TrainSetup s;
  std::string p = preset;
  if (p.empty() && file.contains("train") && file["train"].contains("preset")) p = file["train"]["preset"];
  s.train.apply_preset(p.empty() ? "paper" : p);
  nlohmann::json mj = s.model, tj = s.train;
  try {
    if (file.contains("model")) mj.update(file["model"]);
    if (file.contains("train")) {
      nlohmann::json t = file["train"];
      t.erase("preset");
      tj.update(t);
    }
  } catch (const std::exception& e) {
    io::fail(config_file, e.what());
  }
  for (const std::string& o : overrides) {
    const Override v = parse_override(o);
    if (v.model) {
      IM_CHECK(mj.contains(v.field), "--set: the model config has no field \"" << v.field << "\"");
      mj[v.field] = v.value;
    } else {
      IM_CHECK(tj.contains(v.field), "--set: the training config has no field \"" << v.field << "\"");
      IM_CHECK(v.field != "preset", "use --preset to choose a preset");
      tj[v.field] = v.value;
    }
  }
  try {
    s.model = mj.get<model::ModelConfig>();
    s.train = tj.get<model::TrainConfig>();
  } catch (const nlohmann::json::exception& e) {
    IM_CHECK(false, "a configuration value has the wrong type: " << e.what());
  }
  s.train.validate();
  s.model.validate();
  return s;
}

model::TrainConfig resumed_train_config(const model::ModelConfig& model, const model::TrainConfig& resumed,
                                        const std::vector<std::string>& overrides, std::vector<FieldChange>* changed) {
  nlohmann::json tj = resumed;
  const nlohmann::json mj = model;
  const nlohmann::json before = tj;
  for (const std::string& o : overrides) {
    const Override v = parse_override(o);
    if (v.model) {  // allowed when it repeats the model's value (the same command again)
      IM_CHECK(mj.contains(v.field), "--set: the model config has no field \"" << v.field << "\"");
      IM_CHECK(mj[v.field] == v.value, "--set model." << v.field << ": a resumed run keeps its model (it has "
                                                       << mj[v.field].dump() << "; only train.<field> can change)");
      continue;
    }
    IM_CHECK(tj.contains(v.field), "--set: the training config has no field \"" << v.field << "\"");
    IM_CHECK(v.field != "preset", "a resumed run keeps its preset");
    tj[v.field] = v.value;
  }
  model::TrainConfig t;
  try {
    t = tj.get<model::TrainConfig>();
  } catch (const nlohmann::json::exception& e) {
    IM_CHECK(false, "a configuration value has the wrong type: " << e.what());
  }
  t.validate();
  if (changed)
    for (auto it = before.begin(); it != before.end(); ++it)
      if (tj[it.key()] != it.value()) changed->push_back({it.key(), it.value().dump() + " -> " + tj[it.key()].dump()});
  return t;
}

void resolve_bio_features(model::ModelConfig& mc, const Manifest& manifest) {
  for (model::BioFeature& b : mc.bio) {
    for (const ManifestRow& r : manifest.rows)
      if (!r.columns.count(b.name))
        io::fail(manifest.file, "biological feature \"" + b.name + "\" is not a column of the manifest");
    if (b.kind == "binary" && b.classes.empty()) {
      std::set<std::string> values;
      for (const ManifestRow& r : manifest.rows) values.insert(r.columns.at(b.name));
      if (values.size() != 2)
        io::fail(manifest.file, "binary feature \"" + b.name + "\" takes " + std::to_string(values.size()) +
                                    " distinct values; give its two classes in the config");
      b.classes.assign(values.begin(), values.end());
    }
    if (b.kind == "continuous" && b.scale == 1.f && b.mean == 0.f) {
      double s = 0, s2 = 0;
      int n = 0;
      for (const ManifestRow& r : manifest.rows) {
        double v = std::stod(r.columns.at(b.name));
        s += v, s2 += v * v, ++n;
      }
      double mean = s / n, var = std::max(1e-12, s2 / n - mean * mean);
      b.mean = static_cast<float>(mean);
      b.scale = static_cast<float>(std::sqrt(var));
    }
  }
}

std::vector<float> covariates_of(const model::ModelConfig& mc, const ManifestRow& row, const std::string& file) {
  std::vector<float> out;
  for (const model::BioFeature& b : mc.bio) {
    const std::string& v = row.columns.at(b.name);
    if (b.kind == "binary") {
      auto it = std::find(b.classes.begin(), b.classes.end(), v);
      if (it == b.classes.end())
        io::fail(file, "line " + std::to_string(row.line) + ": \"" + b.name + "\" is \"" + v + "\", expected " +
                           b.classes[0] + " or " + b.classes[1]);
      out.push_back(static_cast<float>(it - b.classes.begin()));
    } else {
      try {
        out.push_back(std::stof(v));
      } catch (const std::exception&) {
        io::fail(file, "line " + std::to_string(row.line) + ": \"" + b.name + "\" is \"" + v + "\", not a number");
      }
    }
  }
  return out;
}

}  // namespace im::tools
