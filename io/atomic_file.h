// Atomic file writes: a temporary file in the target's folder, renamed into place only when complete.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace im::io {

// Writes `size` bytes to `path` via "<dir>/.<name>.tmp-<pid>-<random>" and a rename. With
// overwrite == false an existing `path` makes it fail (no-clobber link, so no race). On any failure
// the temporary file is removed and Error("<path>: ...") is thrown; `path` is never half-written.
void write_file_atomic(const std::string& path, const void* data, size_t size, bool overwrite);

// Several outputs that appear together or not at all (a volume, its mask and its JSON sidecar):
// every temporary file is written first, the existing-output check is done for all, and only then
// are they renamed into place. Uncommitted temporaries are removed by the destructor.
class AtomicFileSet {
 public:
  AtomicFileSet() = default;
  AtomicFileSet(const AtomicFileSet&) = delete;
  AtomicFileSet& operator=(const AtomicFileSet&) = delete;
  ~AtomicFileSet();
  void add(const std::string& path, const std::vector<uint8_t>& bytes);
  void add(const std::string& path, const std::string& text);
  void commit(bool overwrite);

 private:
  struct Entry { std::string path, temp; };
  std::vector<Entry> entries_;
};

}  // namespace im::io
