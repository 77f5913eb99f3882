// Mutation-loop fuzzing of the NIfTI reader (bit flips, truncations, header field mutations, of
// .nii and .nii.gz), bounded in time (IMUNITY_FUZZ_SECONDS, default 20), and replay of
// tests/io/corpus/: every input that ever crashed or hung the reader.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <thread>

#include <nlohmann/json.hpp>

#include "io/error.h"
#include "io/gzip.h"
#include "io/nifti.h"
#include "io/rng.h"
#include "io_test_util.h"
#include "support/paths.h"

namespace fs = std::filesystem;
using namespace im;

namespace {

// The input under test, for the crash handler and the watchdog (written with write(2) only).
std::atomic<const std::vector<uint8_t>*> g_current{nullptr};
char g_crash_path[4096];
std::atomic<int64_t> g_started_ms{0};

void save_current(const char* path) {
  const std::vector<uint8_t>* cur = g_current;
  if (!cur) return;
  const int fd = ::open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) return;
  ssize_t ignored = ::write(fd, cur->data(), cur->size());
  (void)ignored;
  ::close(fd);
}

void on_crash(int sig) {
  save_current(g_crash_path);
  const char msg[] = "\nfuzz: the reader crashed; input saved (see the scratch folder test-scratch/fuzz/)\n";
  ssize_t ignored = ::write(2, msg, sizeof msg - 1);
  (void)ignored;
  std::signal(sig, SIG_DFL);
  std::raise(sig);
}

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

std::vector<std::vector<uint8_t>> seeds() {
  std::vector<std::vector<uint8_t>> out;
  const io::Mat4 oblique = {0.9, -0.2, 0.1, -10.5, 0.25, 1.1, 0.05, 20.25, -0.1, 0.0, 2.5, 5.0, 0, 0, 0, 1};
  int k = 0;
  for (int dt : {io::dtype::uint8, io::dtype::int16, io::dtype::float32, io::dtype::float64, io::dtype::int32})
    for (int version : {1, 2}) {
      io::Volume v = test::synthetic({5 + k % 3, 4, 3}, k % 2 ? oblique : test::diag_affine(1, 2, 3),
                                     [](int64_t x, int64_t y, int64_t z) { return float(x * 3 + y - z) * 1.5f; });
      v.header.datatype = dt;
      v.header.descrip = "fuzz seed";
      if (k % 3 == 0) v.header.extensions.push_back({6, "an extension to parse"});
      v.header.raw.valid = k % 3 == 0;  // lets the extension be written
      v.header.raw.dim = v.dim;
      v.header.raw.qform = v.header.qform, v.header.raw.sform = v.header.sform;
      io::WriteOptions o;
      o.keep_datatype = true;
      o.version = version;
      out.push_back(io::encode_volume(v, false, o));
      ++k;
    }
  return out;
}

// Field offsets of the NIfTI-1 header and their sizes, for targeted mutations.
struct Field {
  size_t offset;
  int size;
  bool is_float;
};
const Field kFields1[] = {{0, 4, false},   {40, 2, false},  {42, 2, false},  {44, 2, false},  {46, 2, false},
                          {48, 2, false},  {70, 2, false},  {72, 2, false},  {76, 4, true},   {80, 4, true},
                          {108, 4, true},  {112, 4, true},  {116, 4, true},  {252, 2, false}, {254, 2, false},
                          {256, 4, true},  {260, 4, true},  {264, 4, true},  {280, 4, true},  {284, 4, true},
                          {296, 4, true},  {316, 4, true},  {348, 1, false}, {352, 4, false}, {356, 4, false}};
const Field kFields2[] = {{0, 4, false},   {12, 2, false},  {16, 8, false},  {24, 8, false},  {32, 8, false},
                          {48, 8, false},  {104, 8, true},  {112, 8, true},  {168, 8, false}, {176, 8, true},
                          {344, 4, false}, {348, 4, false}, {352, 8, true},  {400, 8, true},  {432, 8, true},
                          {540, 1, false}};

void mutate_field(std::vector<uint8_t>& b, io::Rng& rng) {
  const bool v2 = b.size() >= 4 && b[0] == 0x1c && b[1] == 0x02;  // sizeof_hdr 540, little-endian
  const Field f = v2 ? kFields2[rng.below(std::size(kFields2))] : kFields1[rng.below(std::size(kFields1))];
  if (f.offset + static_cast<size_t>(f.size) > b.size()) return;
  const double specials[] = {0, 1, -1, 2, 3, 4, 7, 8, 348, 352, 540, 1e6, -1e6, 32767, -32768, 2147483647.0, 1e30, -1e30,
                             std::numeric_limits<double>::quiet_NaN(), std::numeric_limits<double>::infinity(), 0.5, 1e-30};
  const double x = specials[rng.below(std::size(specials))];
  if (f.is_float && f.size == 4) test::set_field<float>(b, f.offset, static_cast<float>(x));
  if (f.is_float && f.size == 8) test::set_field<double>(b, f.offset, x);
  const double c = std::isfinite(x) ? std::fmax(-9.2e18, std::fmin(9.2e18, x)) : 0;
  if (!f.is_float && f.size == 1) b[f.offset] = static_cast<uint8_t>(static_cast<int64_t>(c));
  if (!f.is_float && f.size == 2) test::set_field<int16_t>(b, f.offset, static_cast<int16_t>(static_cast<int64_t>(c)));
  if (!f.is_float && f.size == 4) test::set_field<int32_t>(b, f.offset, static_cast<int32_t>(static_cast<int64_t>(c)));
  if (!f.is_float && f.size == 8) test::set_field<int64_t>(b, f.offset, static_cast<int64_t>(c));
}

std::vector<uint8_t> mutate(std::vector<uint8_t> b, io::Rng& rng) {
  const int n = 1 + static_cast<int>(rng.below(4));
  for (int i = 0; i < n && !b.empty(); ++i) {
    switch (rng.below(7)) {
      case 0: b[rng.below(b.size())] ^= static_cast<uint8_t>(1u << rng.below(8)); break;
      case 1: b[rng.below(b.size())] = static_cast<uint8_t>(std::array<int, 5>{0, 255, 127, 128, 1}[rng.below(5)]); break;
      case 2: b.resize(rng.below(b.size() + 1)); break;
      case 3: mutate_field(b, rng); break;
      case 4: b.insert(b.end(), rng.below(64), static_cast<uint8_t>(rng.next())); break;
      case 5: {  // copy a chunk over another place
        const size_t from = rng.below(b.size()), to = rng.below(b.size()), len = std::min(b.size() - std::max(from, to), size_t(rng.below(32)));
        std::copy_n(b.begin() + static_cast<long>(from), len, b.begin() + static_cast<long>(to));
        break;
      }
      default: mutate_field(b, rng); break;
    }
  }
  return b;
}

// Reads `b`; only a clean success or io::Error are acceptable. Returns "" or what went wrong.
std::string try_read(const std::vector<uint8_t>& b) {
  g_current = &b;
  g_started_ms = now_ms();
  std::string problem;
  try {
    const io::Volume v = io::read_volume_bytes(b, "fuzz-input");
    if (static_cast<int64_t>(v.data.size()) != v.size()) problem = "voxel count does not match the dimensions";
    if (io::is_singular(v.affine)) problem = "accepted a singular affine";
    for (float x : v.data)
      if (!std::isfinite(x)) problem = "accepted a non-finite voxel";
  } catch (const io::Error& e) {
    if (std::string(e.what()).find("fuzz-input") != 0) problem = std::string("error does not name the file: ") + e.what();
  } catch (const std::exception& e) {
    problem = std::string("unexpected exception: ") + e.what();
  }
  g_started_ms = 0;
  g_current = nullptr;
  return problem;
}

}  // namespace

TEST_CASE("fuzz: corpus of inputs that once failed still read cleanly", "[nifti][fuzz]") {
  const fs::path corpus = fs::path(IMUNITY_SOURCE_DIR) / "tests" / "io" / "corpus";
  int n = 0;
  for (const auto& e : fs::directory_iterator(corpus)) {
    if (e.path().extension() == ".md") continue;
    INFO(e.path().string());
    REQUIRE(try_read(test::read_bytes(e.path().string())).empty());
    ++n;
  }
  SUCCEED(n << " corpus inputs replayed");
}

TEST_CASE("fuzz: mutation loop over small .nii and .nii.gz files", "[nifti][fuzz]") {
  const std::string dir = test::scratch_dir("fuzz");
  const char* env = std::getenv("IMUNITY_FUZZ_SECONDS");
  const double seconds = env && *env ? std::atof(env) : 20.0;
  const char* seed_env = std::getenv("IMUNITY_FUZZ_SEED");
  const uint64_t seed = seed_env && *seed_env ? std::strtoull(seed_env, nullptr, 10) : 1;
  std::snprintf(g_crash_path, sizeof g_crash_path, "%s/crash-seed%llu.bin", dir.c_str(), static_cast<unsigned long long>(seed));
  for (int sig : {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT}) std::signal(sig, on_crash);
  // Watchdog: a read that takes more than 10 s counts as a hang; its input is saved, then abort.
  std::atomic<bool> done{false};
  std::thread watchdog([&] {
    while (!done) {
      const int64_t t = g_started_ms;
      if (t && now_ms() - t > 10000) {
        std::string p = dir + "/hang.bin";
        save_current(p.c_str());
        std::fprintf(stderr, "fuzz: a read hung; input saved to %s\n", p.c_str());
        std::abort();
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  });
  // Seeds: our own small files, the corpus, and the files nibabel wrote for the fixture
  // (big-endian, NIfTI-2 by another writer).
  auto base = seeds();
  for (const auto& e : fs::directory_iterator(fs::path(IMUNITY_SOURCE_DIR) / "tests" / "io" / "corpus"))
    if (e.path().extension() != ".md") base.push_back(test::read_bytes(e.path().string()));
  std::ifstream fx(test::fixture_dir() + "/nibabel_volumes.json");
  if (fx) {
    const nlohmann::json fixture = nlohmann::json::parse(fx);  // named: a range-for over a temporary's member dangles
    for (const auto& s : fixture["synthetic"]) base.push_back(test::base64_decode(s["bytes_base64"]));
  }
  io::Rng rng(seed);
  const auto t0 = std::chrono::steady_clock::now();
  int64_t iterations = 0, accepted = 0;
  std::string failure;
  while (failure.empty() && std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() < seconds) {
    const auto& s = base[rng.below(base.size())];
    std::vector<uint8_t> b;
    switch (rng.below(3)) {
      case 0: b = mutate(s, rng); break;  // .nii
      case 1: {                           // header/data mutated, then gzipped: the parser behind gzip
        const auto m = mutate(s, rng);
        b = io::gzip_compress(m.data(), m.size(), 1, 1);
        break;
      }
      default: {  // the gzip stream itself mutated
        const auto gz = io::gzip_compress(s.data(), s.size(), 1, 1);
        b = mutate(gz, rng);
        break;
      }
    }
    failure = try_read(b);
    if (failure.empty()) {
      try {
        io::read_volume_bytes(b, "fuzz-input");
        ++accepted;
      } catch (const io::Error&) {
      }
    } else {
      const std::string p = dir + "/failure-" + std::to_string(iterations) + ".bin";
      test::write_bytes(p, b);
      failure += " (input saved to " + p + ")";
    }
    ++iterations;
  }
  done = true;
  watchdog.join();
  for (int sig : {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT}) std::signal(sig, SIG_DFL);
  INFO(failure);
  REQUIRE(failure.empty());
  WARN("fuzz: " << iterations << " inputs in " << seconds << " s (seed " << seed << "), " << accepted << " read as valid volumes");
  REQUIRE(iterations > 100);
}
