// Gzip for NIfTI files: bounded, crash-free decompression (libdeflate, zlib fallback) and fast
// multi-threaded compression (libdeflate, one gzip member per chunk).
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace im::io {

bool is_gzip(const uint8_t* data, size_t size);

// The first up-to `want` decompressed bytes (fewer only if the stream ends or is cut short; an
// invalid stream throws). Used to read a header before knowing the data size.
std::vector<uint8_t> gunzip_prefix(const uint8_t* data, size_t size, size_t want, const std::string& name);

// Exactly `want` decompressed bytes from the start of the stream (multi-member streams are
// followed; bytes past `want` are ignored). Throws Error naming `name` when the stream is corrupt or
// ends before `want` bytes ("truncated"). Never allocates more than `want` bytes.
std::vector<uint8_t> gunzip(const uint8_t* data, size_t size, size_t want, const std::string& name);

// gzip of `data` at libdeflate `level` (0-12). With threads > 1 and a large input the data is cut in
// chunks compressed in parallel, each a gzip member: a multi-member stream that gzip, zlib,
// nifticlib and nibabel all read as one.
std::vector<uint8_t> gzip_compress(const uint8_t* data, size_t size, int level, int threads);

// Deflate expands at most ~1032:1; a header that claims more data than that is lying or truncated.
constexpr double kMaxDeflateRatio = 1032.0;

}  // namespace im::io
