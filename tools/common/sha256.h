// SHA-256 (FIPS 180-4) of bytes and files: the model and contrast-code fingerprints in sidecars.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

namespace im::tools {

class Sha256 {
 public:
  Sha256();
  void update(const void* data, size_t size);
  // The digest as 64 lowercase hex digits; the object is spent afterwards.
  std::string hex();

 private:
  void block(const uint8_t* p);
  uint32_t h_[8];
  uint8_t buf_[64];
  size_t buffered_ = 0;
  uint64_t total_ = 0;
};

std::string sha256_hex(const void* data, size_t size);
// Streams the file; throws im::io::Error("<path>: ...") when it cannot be read.
std::string sha256_file(const std::string& path);

}  // namespace im::tools
