// Gzip decompression (libdeflate fast path, zlib streaming for the exact diagnosis and for streams
// libdeflate cannot cut short) and chunked parallel gzip compression.
#include "io/gzip.h"

#include <libdeflate.h>
#include <zlib.h>

#include <algorithm>
#include <memory>

#include "io/error.h"

namespace im::io {
namespace {

constexpr size_t kChunk = size_t(8) << 20;  // fixed, so the output does not depend on the thread count

struct Decompressor {
  libdeflate_decompressor* d = libdeflate_alloc_decompressor();
  ~Decompressor() { libdeflate_free_decompressor(d); }
};

// Streams a gzip (possibly multi-member) through zlib into out[0, want). When `verify` is set the
// rest of the stream is inflated into a scratch buffer afterwards, so that a missing trailer or a bad
// CRC is still reported.
void zlib_stream(const uint8_t* data, size_t size, uint8_t* out, size_t want, bool verify,
                   const std::string& name) {
  z_stream zs{};
  if (inflateInit2(&zs, 16 + MAX_WBITS) != Z_OK) fail(name, "cannot initialise zlib");
  std::unique_ptr<z_stream, int (*)(z_stream*)> guard(&zs, inflateEnd);
  zs.next_in = const_cast<Bytef*>(data);
  size_t in_left = size, produced = 0;
  uint8_t scratch[1 << 15];
  for (;;) {
    const bool filling = produced < want;
    if (!filling && !verify) return;
    if (zs.avail_in == 0 && in_left > 0) {
      const uInt chunk = static_cast<uInt>(std::min<size_t>(in_left, 1u << 30));
      zs.avail_in = chunk;
      in_left -= chunk;
    }
    const size_t room = filling ? std::min<size_t>(want - produced, 1u << 30) : sizeof scratch;
    zs.next_out = filling ? out + produced : scratch;
    zs.avail_out = static_cast<uInt>(room);
    const int rc = inflate(&zs, Z_NO_FLUSH);
    if (filling) produced += room - zs.avail_out;
    if (rc == Z_OK) continue;
    if (rc == Z_STREAM_END) {
      // Another member follows only if the next bytes carry the gzip magic; anything else is
      // trailing padding, ignored as gzip(1) does.
      if (zs.avail_in + in_left >= 2 && zs.next_in[0] == 0x1f && zs.next_in[1] == 0x8b) {
        inflateReset(&zs);
        continue;
      }
      if (produced < want)
        fail(name, "gzip stream holds only " + std::to_string(produced) + " of the " + std::to_string(want) +
                       " bytes the NIfTI header declares (truncated file or wrong dimensions)");
      return;
    }
    if (rc == Z_BUF_ERROR && zs.avail_in == 0 && in_left == 0) {
      if (produced < want)
        fail(name, "truncated gzip stream: it ends after " + std::to_string(produced) + " of the " +
                       std::to_string(want) + " bytes the NIfTI header declares");
      fail(name, "truncated gzip stream: the voxel data are complete but the gzip trailer is missing");
    }
    if (rc != Z_BUF_ERROR)
      fail(name, std::string("corrupt gzip data (zlib: ") + (zs.msg ? zs.msg : "error") + ")");
  }
}

}  // namespace

bool is_gzip(const uint8_t* data, size_t size) { return size >= 2 && data[0] == 0x1f && data[1] == 0x8b; }

std::vector<uint8_t> gunzip_prefix(const uint8_t* data, size_t size, size_t want, const std::string& name) {
  std::vector<uint8_t> out(want);
  z_stream zs{};
  if (inflateInit2(&zs, 16 + MAX_WBITS) != Z_OK) fail(name, "cannot initialise zlib");
  std::unique_ptr<z_stream, int (*)(z_stream*)> guard(&zs, inflateEnd);
  zs.next_in = const_cast<Bytef*>(data);
  zs.avail_in = static_cast<uInt>(std::min<size_t>(size, 1u << 30));
  zs.next_out = out.data();
  zs.avail_out = static_cast<uInt>(want);
  while (zs.avail_out > 0) {
    const int rc = inflate(&zs, Z_NO_FLUSH);
    if (rc == Z_STREAM_END) {
      if (zs.avail_in >= 2 && zs.next_in[0] == 0x1f && zs.next_in[1] == 0x8b) {
        inflateReset(&zs);
        continue;
      }
      break;
    }
    if (rc == Z_BUF_ERROR) break;  // input exhausted: the caller sees a short header
    if (rc != Z_OK) fail(name, std::string("corrupt gzip data (zlib: ") + (zs.msg ? zs.msg : "error") + ")");
  }
  out.resize(want - zs.avail_out);
  return out;
}

std::vector<uint8_t> gunzip(const uint8_t* data, size_t size, size_t want, const std::string& name) {
  std::vector<uint8_t> out(want);
  // Fast path: every member decompresses whole into the space left and the input ends exactly
  // where the declared data end. Anything else (more data than declared, a corrupt or cut stream)
  // goes through zlib, which can stop at `want` and says precisely what is wrong.
  Decompressor dec;
  if (!dec.d) fail(name, "cannot allocate a libdeflate decompressor");
  size_t pos = 0, opos = 0;
  bool fast = true;
  while (pos < size && opos < want) {
    size_t in_used = 0, out_got = 0;
    const auto rc = libdeflate_gzip_decompress_ex(dec.d, data + pos, size - pos, out.data() + opos,
                                                  want - opos, &in_used, &out_got);
    if (rc != LIBDEFLATE_SUCCESS) {
      fast = false;
      break;
    }
    pos += in_used;
    opos += out_got;
  }
  if (fast && opos == want && pos == size) return out;
  zlib_stream(data, size, out.data(), want, /*verify=*/true, name);
  return out;
}

std::vector<uint8_t> gzip_compress(const uint8_t* data, size_t size, int level, int threads) {
  level = std::clamp(level, 0, 12);
  const size_t nchunks = std::max<size_t>(1, (size + kChunk - 1) / kChunk);
  std::vector<std::vector<uint8_t>> parts(nchunks);
  bool ok = true;
#pragma omp parallel num_threads(std::max(1, threads)) if (nchunks > 1 && threads > 1)
  {
    libdeflate_compressor* c = libdeflate_alloc_compressor(level);
#pragma omp for schedule(dynamic, 1)
    for (long i = 0; i < static_cast<long>(nchunks); ++i) {
      const size_t begin = static_cast<size_t>(i) * kChunk, n = std::min(kChunk, size - std::min(size, begin));
      if (!c) {
        ok = false;
        continue;
      }
      auto& p = parts[static_cast<size_t>(i)];
      p.resize(libdeflate_gzip_compress_bound(c, n));
      const size_t got = libdeflate_gzip_compress(c, data + begin, n, p.data(), p.size());
      if (got == 0) ok = false;
      p.resize(got);
    }
    libdeflate_free_compressor(c);
  }
  if (!ok) throw Error("gzip compression failed (libdeflate)");
  size_t total = 0;
  for (auto& p : parts) total += p.size();
  std::vector<uint8_t> out;
  out.reserve(total);
  for (auto& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

}  // namespace im::io
