#pragma once
// The zip container of `torch.save` files (PyTorch 1.6 and later), read from bytes in memory.
// Only what PyTorch's writer produces is accepted: one disk, entries stored uncompressed (torch
// aligns their data so that it can be mapped), found through the central directory. The writer
// sets the "sizes in a data descriptor" flag and leaves the local headers' sizes at zero, so
// sizes and CRCs come from the central directory; it always writes the ZIP64 end records, and a
// ZIP64 extra field for an entry whose size or offset does not fit in 32 bits.
//
// Nothing read is trusted: every offset and size is checked against the bytes there are before
// use, with arithmetic that cannot overflow, the entry count against the size of the central
// directory, and entries may neither overlap nor share names. Entries that do not overlap cannot
// add up to more than the file, so a reader that copies each entry at most once allocates no more
// than the file's size, however the central directory was crafted.

#include <cstdint>
#include <map>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace multigrid::reference {

/// What is wrong with a zip archive; the caller adds the file's name.
class zip_archive_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct zip_entry {
  std::string name;
  std::uint64_t record_offset = 0;  ///< of its central directory record (to rewrite it)
  std::uint64_t header_offset = 0;  ///< of its local header
  std::uint64_t data_offset = 0;    ///< of its bytes, past the local header
  std::uint64_t size = 0;
  std::uint32_t crc32 = 0;
};

class zip_archive {
 public:
  /// Parses the central directory of `bytes`, which must outlive the archive. Throws
  /// zip_archive_error saying what is wrong.
  explicit zip_archive(std::string_view bytes);

  /// In the order of the central directory.
  const std::vector<zip_entry>& entries() const noexcept { return entries_; }
  /// The entry named `name`, or nullptr.
  const zip_entry* find(std::string_view name) const;
  /// The bytes of `entry` (one of entries()), after checking their CRC-32: a damaged file is
  /// refused rather than read as other numbers.
  std::string_view data(const zip_entry& entry) const;

 private:
  std::string_view bytes_;
  std::vector<zip_entry> entries_;
  std::map<std::string, std::size_t, std::less<>> by_name_;
};

/// The CRC-32 of zip (and gzip, PNG): reflected polynomial 0xEDB88320.
std::uint32_t zip_crc32(std::string_view bytes) noexcept;

}  // namespace multigrid::reference
