// JSON (de)serialization of the data path's records (headers, prep records) and atomic JSON files.
#pragma once
#include <nlohmann/json.hpp>
#include <string>

#include "io/prep.h"

namespace im::io {

// Doubles are written with full precision; NaN/Inf (legal in some header fields) become null.
nlohmann::json header_to_json(const NiftiHeaderInfo& h);  // extensions are left out
NiftiHeaderInfo header_from_json(const nlohmann::json& j);
nlohmann::json n4_options_to_json(const N4Options& o);
N4Options n4_options_from_json(const nlohmann::json& j);  // missing keys keep their defaults
nlohmann::json record_to_json(const PrepRecord& r);
PrepRecord record_from_json(const nlohmann::json& j);  // throws Error on a malformed record

// Pretty-printed JSON written atomically (see write_file_atomic).
void write_json(const std::string& path, const nlohmann::json& j, bool overwrite = true);
nlohmann::json read_json(const std::string& path);  // throws Error("<path>: ...")

}  // namespace im::io
