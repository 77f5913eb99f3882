// n4_correct: ITK's N4BiasFieldCorrectionImageFilter on a shrunk copy inside the mask, the log field
// rebuilt at full resolution by BSplineControlPointImageFilter (as ANTs' N4 does). The one file of
// the project that includes ITK.
#include "io/n4.h"

#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <sstream>

#include "io/error.h"

#ifdef IMUNITY_WITH_ITK
#include <itkBSplineControlPointImageFilter.h>
#include <itkMultiThreaderBase.h>
#include <itkN4BiasFieldCorrectionImageFilter.h>
#endif

namespace im::io {

bool n4_available() {
#ifdef IMUNITY_WITH_ITK
  return true;
#else
  return false;
#endif
}

std::string describe(const N4Options& o) {
  std::ostringstream s;
  if (o.shrink > 0)
    s << "shrink " << o.shrink;
  else
    s << "fit " << o.fit_mm << " mm";
  s << ", iterations " << format_n4_iterations(o.iterations) << ", convergence " << o.convergence << ", spline " << o.spline_distance_mm << " mm";
  return s.str();
}

std::string format_n4_iterations(const std::vector<int>& iterations) {
  std::string t;
  for (size_t i = 0; i < iterations.size(); ++i) t += (i ? "x" : "") + std::to_string(iterations[i]);
  return t;
}

std::vector<int> parse_n4_iterations(const std::string& text) {
  std::vector<int> out;
  for (size_t pos = 0; pos <= text.size();) {
    const size_t x = std::min(text.find('x', pos), text.size());
    const std::string t = text.substr(pos, x - pos);
    if (t.empty() || t.size() > 6 || t.find_first_not_of("0123456789") != std::string::npos || std::stoi(t) < 1)
      throw Error("N4 iterations must look like 75x75x50 (maximum iterations per fitting level), not '" + text + "'");
    out.push_back(std::stoi(t));
    pos = x + 1;
  }
  return out;
}

namespace {

void check(const Volume& v, const Mask& mask, const N4Options& o) {
  if (mask.size() != v.data.size()) throw Error("N4: the mask does not match the volume's grid");
  if (mask_count(mask) == 0) throw Error("N4: the mask is empty");
  for (int d = 0; d < 3; ++d)
    if (v.dim[d] < 2) throw Error("N4: the volume needs at least 2 voxels along every axis (a 3-D field is fitted)");
  if (o.shrink < 0 || (o.shrink == 0 && !(o.fit_mm > 0))) throw Error("N4: the shrink factor or fit_mm must be positive");
  if (o.iterations.empty() || *std::min_element(o.iterations.begin(), o.iterations.end()) < 1)
    throw Error("N4: every fitting level needs at least one iteration");
  if (!(o.spline_distance_mm > 0) || o.spline_order < 1 || o.histogram_bins < 2 || !(o.fwhm > 0) || !(o.convergence >= 0))
    throw Error("N4: spline distance, spline order, histogram bins and FWHM must be positive");
}

}  // namespace

#ifndef IMUNITY_WITH_ITK

Volume n4_correct(const Volume& v, const Mask& mask, const N4Options& o, N4Info*) {
  check(v, mask, o);
  throw Error("N4 bias-field correction is unavailable: this build has no ITK (configure with -DIMUNITY_ITK=ON; "
              "Debian package libinsighttoolkit5-dev)");
}

#else

namespace {

using Image = itk::Image<float, 3>;
using MaskImage = itk::Image<unsigned char, 3>;
using Correcter = itk::N4BiasFieldCorrectionImageFilter<Image, MaskImage, Image>;
using Lattice = Correcter::BiasFieldControlPointLatticeType;
using Reconstructer = itk::BSplineControlPointImageFilter<Lattice, Correcter::ScalarImageType>;

// ITK's physical space is LPS; our affines map voxels to RAS. `step` voxels of `v` make one voxel.
template <class I>
void set_geometry(I* img, const Volume& v, const std::array<int, 3>& step) {
  const Vec3 vs = v.voxel_size();
  const double flip[3] = {-1, -1, 1};
  typename I::SpacingType spacing;
  typename I::PointType origin;
  typename I::DirectionType dir;
  for (int r = 0; r < 3; ++r) {
    spacing[r] = vs[r] * step[r];
    origin[r] = flip[r] * v.affine[4 * r + 3];
    for (int c = 0; c < 3; ++c) dir(r, c) = flip[r] * v.affine[4 * r + c] / vs[c];
  }
  img->SetSpacing(spacing);
  img->SetOrigin(origin);
  img->SetDirection(dir);
}

struct Shrunk {
  Image::Pointer image;
  MaskImage::Pointer mask;
  int64_t fit_voxels = 0;
};

// The shrunk grid's voxel i is the full grid's voxel i * f (per axis; subsampled as ANTs does:
// averaging blocks mixes tissues and flattens the histogram N4 sharpens, measured worse), so that
// its extent, (m - 1) * f + 1 full voxels from voxel 0, is the B-spline's domain at full resolution.
Shrunk shrink_image(const Volume& v, const Mask& fit, const std::array<int, 3>& f, const Dims& m) {
  Shrunk s;
  Image::RegionType region;
  region.SetSize({static_cast<itk::SizeValueType>(m[0]), static_cast<itk::SizeValueType>(m[1]),
                  static_cast<itk::SizeValueType>(m[2])});
  s.image = Image::New();
  s.image->SetRegions(region);
  set_geometry(s.image.GetPointer(), v, f);
  s.image->Allocate(true);
  s.mask = MaskImage::New();
  s.mask->CopyInformation(s.image);
  s.mask->SetRegions(region);
  s.mask->Allocate(true);
  float* out = s.image->GetBufferPointer();
  unsigned char* mo = s.mask->GetBufferPointer();
  int64_t count = 0;
  for (int64_t k = 0; k < m[2]; ++k)
    for (int64_t j = 0; j < m[1]; ++j)
      for (int64_t i = 0; i < m[0]; ++i) {
        const int64_t x = i * f[0], y = j * f[1], z = k * f[2];
        if (x >= v.dim[0] || y >= v.dim[1] || z >= v.dim[2] || !fit[v.index(x, y, z)]) continue;
        const int64_t o = i + m[0] * (j + m[1] * k);
        out[o] = v.data[v.index(x, y, z)];
        mo[o] = 1;
        ++count;
      }
  s.fit_voxels = count;
  return s;
}

}  // namespace

Volume n4_correct(const Volume& v, const Mask& mask, const N4Options& o, N4Info* info) {
  const auto t0 = std::chrono::steady_clock::now();
  check(v, mask, o);
  Mask fit(mask.size());
  int64_t positive = 0;
  for (size_t i = 0; i < mask.size(); ++i) positive += fit[i] = mask[i] && v.data[i] > 0;
  if (positive == 0) throw Error("N4: no voxel inside the mask has a positive intensity (N4 works on log intensities)");

  N4Info in;
  in.threads = omp_get_max_threads();
  // Global, because N4 builds its inner B-spline fitters with the global default. Concurrent calls
  // (the training sampler's loader threads) all write the same value: their threads' OpenMP default.
  itk::MultiThreaderBase::SetGlobalDefaultNumberOfThreads(static_cast<itk::ThreadIdType>(in.threads));
  const Vec3 vs = v.voxel_size();
  Dims m{}, full{};  // shrunk grid; the full-resolution grid it spans (>= v.dim)
  Correcter::ArrayType control_points;
  for (int d = 0; d < 3; ++d) {
    const int f = o.shrink > 0 ? o.shrink : std::max(1, static_cast<int>(std::lround(o.fit_mm / vs[d])));
    in.shrink[d] = static_cast<int>(std::min<int64_t>(f, v.dim[d] - 1));
    m[d] = (v.dim[d] - 1 + in.shrink[d] - 1) / in.shrink[d] + 1;
    full[d] = (m[d] - 1) * in.shrink[d] + 1;
    const double domain_mm = double(full[d] - 1) * vs[d];
    const int spans = std::max(1, static_cast<int>(std::ceil(domain_mm / o.spline_distance_mm)));
    control_points[d] = static_cast<unsigned>(spans + o.spline_order);
    in.control_points[d] = static_cast<int>(control_points[d]);
  }
  in.fit_dim = m;
  Shrunk s = shrink_image(v, fit, in.shrink, m);
  in.fit_voxels = s.fit_voxels;
  if (s.fit_voxels < 64)
    throw Error("N4: only " + std::to_string(s.fit_voxels) + " voxels of the shrunk grid lie in the mask (at least 64 are needed)");

  Volume out = v;
  try {
    auto n4 = Correcter::New();
    n4->SetInput(s.image);
    n4->SetMaskImage(s.mask);
    Correcter::VariableSizeArrayType iterations(static_cast<unsigned>(o.iterations.size()));
    for (size_t l = 0; l < o.iterations.size(); ++l) iterations[static_cast<unsigned>(l)] = static_cast<unsigned>(o.iterations[l]);
    n4->SetMaximumNumberOfIterations(iterations);
    n4->SetNumberOfFittingLevels(static_cast<unsigned>(o.iterations.size()));
    n4->SetConvergenceThreshold(static_cast<float>(o.convergence));
    n4->SetNumberOfControlPoints(control_points);
    n4->SetSplineOrder(static_cast<unsigned>(o.spline_order));
    n4->SetNumberOfHistogramBins(static_cast<unsigned>(o.histogram_bins));
    n4->SetBiasFieldFullWidthAtHalfMaximum(static_cast<float>(o.fwhm));
    n4->SetWienerFilterNoise(static_cast<float>(o.wiener_noise));
    in.iterations_run.assign(o.iterations.size(), 0);
    n4->AddObserver(itk::IterationEvent(), [&](const itk::EventObject&) { ++in.iterations_run.at(n4->GetCurrentLevel()); });
    n4->Update();

    auto rebuild = Reconstructer::New();
    rebuild->SetInput(n4->GetLogBiasFieldControlPointLattice());
    rebuild->SetSplineOrder(static_cast<unsigned>(o.spline_order));
    Reconstructer::SizeType size;
    for (int d = 0; d < 3; ++d) size[d] = static_cast<itk::SizeValueType>(full[d]);
    rebuild->SetSize(size);
    Image::Pointer geometry = Image::New();
    set_geometry(geometry.GetPointer(), v, {1, 1, 1});
    rebuild->SetOrigin(geometry->GetOrigin());
    rebuild->SetSpacing(geometry->GetSpacing());
    rebuild->SetDirection(geometry->GetDirection());
    rebuild->Update();
    const auto* log_field = rebuild->GetOutput()->GetBufferPointer();

    // Geometric mean 1 over the fit voxels: the correction keeps the input's intensity level.
    const Dims& n = v.dim;
    auto at = [&](int64_t x, int64_t y, int64_t z) { return double(log_field[x + full[0] * (y + full[1] * z)][0]); };
    double sum = 0;
#pragma omp parallel for schedule(static) reduction(+ : sum)
    for (int64_t z = 0; z < n[2]; ++z)
      for (int64_t y = 0; y < n[1]; ++y)
        for (int64_t x = 0; x < n[0]; ++x)
          if (fit[v.index(x, y, z)]) sum += at(x, y, z);
    const double mean = sum / double(positive);
    double lo = 1e300, hi = -1e300;
#pragma omp parallel for schedule(static) reduction(min : lo) reduction(max : hi)
    for (int64_t z = 0; z < n[2]; ++z)
      for (int64_t y = 0; y < n[1]; ++y)
        for (int64_t x = 0; x < n[0]; ++x) {
          const int64_t i = v.index(x, y, z);
          const double field = std::exp(at(x, y, z) - mean);
          out.data[i] = static_cast<float>(v.data[i] / field);
          if (mask[i]) lo = std::min(lo, field), hi = std::max(hi, field);
        }
    in.field_min = lo, in.field_max = hi;
  } catch (const itk::ExceptionObject& e) {
    throw Error(std::string("N4 (ITK): ") + e.GetDescription());
  }
  out.header.datatype = dtype::float32;
  out.header.scl_slope = 1, out.header.scl_inter = 0;
  in.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (info) *info = in;
  return out;
}

#endif

}  // namespace im::io
