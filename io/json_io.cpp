// JSON forms of NiftiHeaderInfo, Reorientation, GridMap, NormParams, N4Options/N4Info and PrepRecord.
#include "io/json_io.h"

#include <cmath>
#include <fstream>
#include <limits>
#include <sstream>

#include "io/atomic_file.h"
#include "io/error.h"

using nlohmann::json;

namespace im::io {
namespace {

json num(double x) { return std::isfinite(x) ? json(x) : json(nullptr); }
double get_num(const json& j) { return j.is_null() ? std::numeric_limits<double>::quiet_NaN() : j.get<double>(); }

template <size_t N>
json nums(const double (&a)[N]) {
  json j = json::array();
  for (double x : a) j.push_back(num(x));
  return j;
}
template <size_t N>
void get_nums(const json& j, double (&a)[N]) {
  for (size_t i = 0; i < N; ++i) a[i] = get_num(j.at(i));
}
template <class T, size_t N>
json arr(const std::array<T, N>& a) {
  json j = json::array();
  for (const T& x : a) j.push_back(num(static_cast<double>(x)));
  return j;
}
template <class T, size_t N>
std::array<T, N> get_arr(const json& j) {
  std::array<T, N> a{};
  for (size_t i = 0; i < N; ++i) a[i] = static_cast<T>(get_num(j.at(i)));
  return a;
}

json grid_to_json(const GridMap& m) {
  return {{"src_dim", m.src_dim}, {"dst_dim", m.dst_dim}, {"scale", arr(m.scale)}, {"shift", arr(m.shift)}};
}
GridMap grid_from_json(const json& j) {
  GridMap m;
  m.src_dim = j.at("src_dim").get<Dims>();
  m.dst_dim = j.at("dst_dim").get<Dims>();
  m.scale = get_arr<double, 3>(j.at("scale"));
  m.shift = get_arr<double, 3>(j.at("shift"));
  return m;
}

json norm_to_json(const NormParams& p) {
  return {{"method", norm_name(p.method)}, {"scale", num(p.scale)},         {"offset", num(p.offset)},
          {"upper", num(p.upper)},         {"wm_peak", num(p.wm_peak)},     {"stripe_lo", num(p.stripe_lo)},
          {"stripe_hi", num(p.stripe_hi)}, {"stripe_mean", num(p.stripe_mean)}, {"stripe_sd", num(p.stripe_sd)},
          {"region", region_name(p.region)}, {"region_voxels", p.region_voxels},
          {"core_margin_mm", num(p.core_margin_mm)}, {"core_depth_mm", num(p.core_depth_mm)},
          {"formula", "out = clip(scale * in + offset, 0, 1); voxels <= 0 stay 0"}};
}
NormParams norm_from_json(const json& j) {
  NormParams p;
  p.method = parse_norm(j.at("method").get<std::string>());
  p.scale = get_num(j.at("scale")), p.offset = get_num(j.at("offset")), p.upper = get_num(j.at("upper"));
  p.wm_peak = get_num(j.at("wm_peak"));
  p.stripe_lo = get_num(j.at("stripe_lo")), p.stripe_hi = get_num(j.at("stripe_hi"));
  p.stripe_mean = get_num(j.at("stripe_mean")), p.stripe_sd = get_num(j.at("stripe_sd"));
  // Records written before the brain-core region existed were fitted on the mask.
  p.region = j.contains("region") ? parse_region(j.at("region").get<std::string>()) : NormRegion::mask;
  p.region_voxels = j.value("region_voxels", int64_t{0});
  if (j.contains("core_margin_mm")) p.core_margin_mm = get_num(j.at("core_margin_mm"));
  if (j.contains("core_depth_mm")) p.core_depth_mm = get_num(j.at("core_depth_mm"));
  return p;
}

// "applied": false when N4 did not run; the options it ran with and what it found otherwise.
json n4_to_json(const PrepRecord& r) {
  if (!r.n4) return {{"applied", false}};
  const N4Info& i = r.n4_info;
  return {{"applied", true},
          {"options", n4_options_to_json(r.n4_options)},
          {"seconds", num(i.seconds)},
          {"threads", i.threads},
          {"shrink", i.shrink},
          {"fit_dim", i.fit_dim},
          {"fit_voxels", i.fit_voxels},
          {"control_points", i.control_points},
          {"iterations_run", i.iterations_run},
          {"field_min", num(i.field_min)},
          {"field_max", num(i.field_max)},
          {"formula", "out = in / field; field = exp(B-spline log field), geometric mean 1 over the fitted voxels"}};
}
void n4_from_json(const json& j, PrepRecord& r) {
  r.n4 = j.at("applied").get<bool>();
  if (!r.n4) return;
  r.n4_options = n4_options_from_json(j.at("options"));
  N4Info& i = r.n4_info;
  i.seconds = get_num(j.at("seconds"));
  i.threads = j.at("threads");
  i.shrink = j.at("shrink").get<std::array<int, 3>>();
  i.fit_dim = j.at("fit_dim").get<Dims>();
  i.fit_voxels = j.at("fit_voxels");
  i.control_points = j.at("control_points").get<std::array<int, 3>>();
  i.iterations_run = j.at("iterations_run").get<std::vector<int>>();
  i.field_min = get_num(j.at("field_min")), i.field_max = get_num(j.at("field_max"));
}

}  // namespace

json n4_options_to_json(const N4Options& o) {
  return {{"fit_mm", num(o.fit_mm)},       {"shrink", o.shrink},           {"iterations", o.iterations},
          {"convergence", num(o.convergence)}, {"spline_distance_mm", num(o.spline_distance_mm)},
          {"spline_order", o.spline_order}, {"histogram_bins", o.histogram_bins}, {"fwhm", num(o.fwhm)},
          {"wiener_noise", num(o.wiener_noise)}};
}

N4Options n4_options_from_json(const json& j) {
  N4Options o;
  o.fit_mm = j.value("fit_mm", o.fit_mm);
  o.shrink = j.value("shrink", o.shrink);
  o.iterations = j.value("iterations", o.iterations);
  o.convergence = j.value("convergence", o.convergence);
  o.spline_distance_mm = j.value("spline_distance_mm", o.spline_distance_mm);
  o.spline_order = j.value("spline_order", o.spline_order);
  o.histogram_bins = j.value("histogram_bins", o.histogram_bins);
  o.fwhm = j.value("fwhm", o.fwhm);
  o.wiener_noise = j.value("wiener_noise", o.wiener_noise);
  return o;
}

json header_to_json(const NiftiHeaderInfo& h) {
  json raw = {{"valid", h.raw.valid}, {"dim", h.raw.dim},   {"quatern", nums(h.raw.quatern)}, {"qoffset", nums(h.raw.qoffset)},
              {"qfac", num(h.raw.qfac)}, {"pixdim", nums(h.raw.pixdim)}, {"qform", arr(h.raw.qform)}, {"sform", arr(h.raw.sform)}};
  return {{"version", h.version},       {"datatype", h.datatype},        {"datatype_name", dtype_name(h.datatype)},
          {"qform_code", h.qform_code}, {"sform_code", h.sform_code},    {"qform", arr(h.qform)},
          {"sform", arr(h.sform)},      {"pixdim", nums(h.pixdim)},      {"xyzt_units", h.xyzt_units},
          {"intent_code", h.intent_code}, {"intent_p", nums(h.intent_p)}, {"intent_name", h.intent_name},
          {"descrip", h.descrip},       {"aux_file", h.aux_file},        {"dim_info", h.dim_info},
          {"slice_code", h.slice_code}, {"slice_start", h.slice_start},  {"slice_end", h.slice_end},
          {"slice_duration", num(h.slice_duration)}, {"toffset", num(h.toffset)}, {"cal_min", num(h.cal_min)},
          {"cal_max", num(h.cal_max)},  {"scl_slope", num(h.scl_slope)}, {"scl_inter", num(h.scl_inter)},
          {"raw", raw}};
}

NiftiHeaderInfo header_from_json(const json& j) {
  NiftiHeaderInfo h;
  h.version = j.at("version");
  h.datatype = j.at("datatype");
  h.qform_code = j.at("qform_code"), h.sform_code = j.at("sform_code");
  h.qform = get_arr<double, 16>(j.at("qform")), h.sform = get_arr<double, 16>(j.at("sform"));
  get_nums(j.at("pixdim"), h.pixdim);
  h.xyzt_units = j.at("xyzt_units");
  h.intent_code = j.at("intent_code");
  get_nums(j.at("intent_p"), h.intent_p);
  h.intent_name = j.at("intent_name"), h.descrip = j.at("descrip"), h.aux_file = j.at("aux_file");
  h.dim_info = j.at("dim_info"), h.slice_code = j.at("slice_code");
  h.slice_start = j.at("slice_start"), h.slice_end = j.at("slice_end");
  h.slice_duration = get_num(j.at("slice_duration")), h.toffset = get_num(j.at("toffset"));
  h.cal_min = get_num(j.at("cal_min")), h.cal_max = get_num(j.at("cal_max"));
  h.scl_slope = get_num(j.at("scl_slope")), h.scl_inter = get_num(j.at("scl_inter"));
  const json& raw = j.at("raw");
  h.raw.valid = raw.at("valid");
  h.raw.dim = raw.at("dim").get<Dims>();
  get_nums(raw.at("quatern"), h.raw.quatern);
  get_nums(raw.at("qoffset"), h.raw.qoffset);
  h.raw.qfac = get_num(raw.at("qfac"));
  get_nums(raw.at("pixdim"), h.raw.pixdim);
  h.raw.qform = get_arr<double, 16>(raw.at("qform"));
  h.raw.sform = get_arr<double, 16>(raw.at("sform"));
  return h;
}

json record_to_json(const PrepRecord& r) {
  const Reorientation& o = r.reorientation;
  return {{"input", r.input},
          {"input_dim", r.input_dim},
          {"input_affine", arr(r.input_affine)},
          {"input_axcodes", axcodes(r.input_affine)},
          {"input_header", header_to_json(r.input_header)},
          {"reorientation", {{"perm", o.perm}, {"flip", o.flip}, {"src_dim", o.src_dim}}},
          {"resample", grid_to_json(r.resample)},
          {"pad", grid_to_json(r.pad)},
          {"output_dim", r.output_dim},
          {"output_affine", arr(r.output_affine)},
          {"normalization", norm_to_json(r.norm)},
          {"mask", {{"source", r.mask_source}, {"fraction", r.mask_fraction}, {"applied", r.mask_applied}}},
          {"n4", n4_to_json(r)}};
}

PrepRecord record_from_json(const json& j) {
  try {
    PrepRecord r;
    r.input = j.value("input", "");
    r.input_dim = j.at("input_dim").get<Dims>();
    r.input_affine = get_arr<double, 16>(j.at("input_affine"));
    r.input_header = header_from_json(j.at("input_header"));
    const json& o = j.at("reorientation");
    r.reorientation.perm = o.at("perm").get<std::array<int, 3>>();
    r.reorientation.flip = o.at("flip").get<std::array<bool, 3>>();
    r.reorientation.src_dim = o.at("src_dim").get<Dims>();
    r.resample = grid_from_json(j.at("resample"));
    r.pad = grid_from_json(j.at("pad"));
    r.output_dim = j.at("output_dim").get<Dims>();
    r.output_affine = get_arr<double, 16>(j.at("output_affine"));
    r.norm = norm_from_json(j.at("normalization"));
    const json& m = j.at("mask");
    r.mask_source = m.at("source"), r.mask_fraction = m.at("fraction"), r.mask_applied = m.at("applied");
    if (j.contains("n4")) n4_from_json(j.at("n4"), r);  // records written before N4 existed: not applied
    return r;
  } catch (const json::exception& e) {
    throw Error(std::string("malformed prep record: ") + e.what());
  }
}

void write_json(const std::string& path, const json& j, bool overwrite) {
  const std::string text = j.dump(2) + "\n";
  write_file_atomic(path, text.data(), text.size(), overwrite);
}

json read_json(const std::string& path) {
  std::ifstream f(path);
  if (!f) fail(path, "cannot open");
  try {
    return json::parse(f);
  } catch (const json::exception& e) {
    fail(path, std::string("not valid JSON: ") + e.what());
  }
}

}  // namespace im::io
