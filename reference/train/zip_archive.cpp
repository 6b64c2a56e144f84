#include "train/zip_archive.hpp"

#include <algorithm>
#include <array>

#include "train/printable_text.hpp"

namespace multigrid::reference {
namespace {

constexpr std::uint32_t local_header_signature = 0x04034b50;
constexpr std::uint32_t central_header_signature = 0x02014b50;
constexpr std::uint32_t end_signature = 0x06054b50;
constexpr std::uint32_t zip64_end_signature = 0x06064b50;
constexpr std::uint32_t zip64_locator_signature = 0x07064b50;
constexpr std::size_t local_header_size = 30;
constexpr std::size_t central_header_size = 46;
constexpr std::size_t end_size = 22;
constexpr std::size_t zip64_end_size = 56;
constexpr std::size_t zip64_locator_size = 20;
constexpr std::uint16_t zip64_extra_id = 0x0001;
// A 16- or 32-bit field holding this value has its real value in a ZIP64 record or extra field.
constexpr std::uint16_t saturated16 = 0xffff;
constexpr std::uint32_t saturated32 = 0xffffffff;

[[noreturn]] void fail(const std::string& what) {
  throw zip_archive_error(what);
}

// Little-endian fields at `offset`, which the caller has checked lie inside `bytes`.
std::uint64_t read_le(std::string_view bytes, std::uint64_t offset, int width) {
  std::uint64_t value = 0;
  for (int i = 0; i < width; ++i) {
    value |= std::uint64_t{static_cast<unsigned char>(bytes[offset + static_cast<unsigned>(i)])}
             << (8 * i);
  }
  return value;
}
std::uint16_t u16(std::string_view bytes, std::uint64_t offset) {
  return static_cast<std::uint16_t>(read_le(bytes, offset, 2));
}
std::uint32_t u32(std::string_view bytes, std::uint64_t offset) {
  return static_cast<std::uint32_t>(read_le(bytes, offset, 4));
}
std::uint64_t u64(std::string_view bytes, std::uint64_t offset) {
  return read_le(bytes, offset, 8);
}

// Whether [offset, offset + size) lies inside [0, limit), without overflowing.
bool fits(std::uint64_t offset, std::uint64_t size, std::uint64_t limit) {
  return offset <= limit && size <= limit - offset;
}

struct directory_location {
  std::uint64_t offset = 0;
  std::uint64_t size = 0;
  std::uint64_t entries = 0;
  std::uint64_t end = 0;  ///< where the records after the directory begin
};

// The end-of-central-directory record is found from the back: it is the last 22 bytes plus a
// comment of at most 65535 bytes, whose length it states; the match must account for every
// byte to the end of the file.
std::uint64_t find_end_record(std::string_view bytes) {
  if (bytes.size() < end_size) {
    fail("truncated or not a zip archive: " + std::to_string(bytes.size()) +
         " bytes, too short for the end of the central directory");
  }
  const std::uint64_t last = bytes.size() - end_size;
  const std::uint64_t first = last > 0xffff ? last - 0xffff : 0;
  for (std::uint64_t at = last + 1; at-- > first;) {
    if (u32(bytes, at) == end_signature && at + end_size + u16(bytes, at + 20) == bytes.size()) {
      return at;
    }
  }
  fail("truncated or not a zip archive: no end-of-central-directory record");
}

directory_location locate_directory(std::string_view bytes) {
  const auto end = find_end_record(bytes);
  directory_location where;
  where.end = end;
  const bool has_locator =
      end >= zip64_locator_size && u32(bytes, end - zip64_locator_size) == zip64_locator_signature;
  if (!has_locator) {
    if (u16(bytes, end + 4) != 0 || u16(bytes, end + 6) != 0) fail("a multi-disk zip archive");
    where.entries = u16(bytes, end + 10);
    where.size = u32(bytes, end + 12);
    where.offset = u32(bytes, end + 16);
    if (u16(bytes, end + 8) != where.entries) fail("a multi-disk zip archive");
    if (where.entries == saturated16 || where.size == saturated32 || where.offset == saturated32) {
      fail("its end record defers to a ZIP64 record that is not there");
    }
  } else {
    const auto locator = end - zip64_locator_size;
    if (u32(bytes, locator + 4) != 0 || u32(bytes, locator + 16) > 1) {
      fail("a multi-disk zip archive");
    }
    const auto record = u64(bytes, locator + 8);
    if (!fits(record, zip64_end_size, locator)) {
      fail("its ZIP64 end record offset " + std::to_string(record) +
           " is past the end of the archive");
    }
    if (u32(bytes, record) != zip64_end_signature) {
      fail("no ZIP64 end record where its locator points (offset " + std::to_string(record) + ")");
    }
    if (u32(bytes, record + 16) != 0 || u32(bytes, record + 20) != 0) {
      fail("a multi-disk zip archive");
    }
    where.entries = u64(bytes, record + 32);
    where.size = u64(bytes, record + 40);
    where.offset = u64(bytes, record + 48);
    if (u64(bytes, record + 24) != where.entries) fail("a multi-disk zip archive");
    where.end = record;
  }
  if (!fits(where.offset, where.size, where.end)) {
    fail("its central directory (offset " + std::to_string(where.offset) + ", " +
         std::to_string(where.size) + " bytes) is past the end of the archive");
  }
  // Every entry takes at least a fixed-size header, so the count cannot exceed what fits.
  if (where.entries > where.size / central_header_size) {
    fail(std::to_string(where.entries) + " entries claimed, more than its central directory of " +
         std::to_string(where.size) + " bytes can hold");
  }
  return where;
}

// The ZIP64 extra field holds, in this order, the values whose 32-bit (or 16-bit) fields are
// saturated, and only those.
struct zip64_values {
  std::uint64_t size;
  std::uint64_t compressed_size;
  std::uint64_t header_offset;
  std::uint32_t disk;
};

void read_zip64_extra(std::string_view extra, zip64_values& values, const std::string& where) {
  const bool needs = values.size == saturated32 || values.compressed_size == saturated32 ||
                     values.header_offset == saturated32 || values.disk == saturated16;
  std::uint64_t at = 0;
  while (at + 4 <= extra.size()) {
    const auto id = u16(extra, at);
    const auto length = u16(extra, at + 2);
    if (!fits(at + 4, length, extra.size())) fail(where + ": an extra field runs past its end");
    if (id == zip64_extra_id) {
      const auto field = extra.substr(at + 4, length);
      std::uint64_t next = 0;
      const auto take64 = [&](std::uint64_t& value) {
        if (value != saturated32) return;
        if (!fits(next, 8, field.size())) fail(where + ": its ZIP64 extra field is too short");
        value = u64(field, next);
        next += 8;
      };
      take64(values.size);
      take64(values.compressed_size);
      take64(values.header_offset);
      if (values.disk == saturated16) {
        if (!fits(next, 4, field.size())) fail(where + ": its ZIP64 extra field is too short");
        values.disk = u32(field, next);
      }
      return;
    }
    at += 4 + std::uint64_t{length};
  }
  if (needs) fail(where + ": its sizes defer to a ZIP64 extra field that is not there");
}

}  // namespace

zip_archive::zip_archive(std::string_view bytes) : bytes_(bytes) {
  const auto directory = locate_directory(bytes);
  const auto directory_end = directory.offset + directory.size;
  entries_.reserve(directory.entries);
  std::uint64_t at = directory.offset;
  for (std::uint64_t index = 0; index < directory.entries; ++index) {
    const std::string where = "central directory entry " + std::to_string(index);
    if (!fits(at, central_header_size, directory_end)) {
      fail(where + " runs past the end of the central directory");
    }
    if (u32(bytes, at) != central_header_signature) fail(where + ": not an entry header");
    const auto flags = u16(bytes, at + 8);
    const auto method = u16(bytes, at + 10);
    zip64_values values{u32(bytes, at + 24), u32(bytes, at + 20), u32(bytes, at + 42),
                        u16(bytes, at + 34)};
    const std::uint64_t name_size = u16(bytes, at + 28);
    const std::uint64_t extra_size = u16(bytes, at + 30);
    const std::uint64_t comment_size = u16(bytes, at + 32);
    const auto variable = name_size + extra_size + comment_size;
    if (!fits(at + central_header_size, variable, directory_end)) {
      fail(where + ": its name and extra fields run past the end of the central directory");
    }
    zip_entry entry;
    entry.name = std::string(bytes.substr(at + central_header_size, name_size));
    const std::string named = "entry `" + printable_text(entry.name) + "`";
    read_zip64_extra(bytes.substr(at + central_header_size + name_size, extra_size), values, named);
    if (flags & 0x41) fail(named + " is encrypted");
    if (method != 0) {
      fail(named + " is compressed (method " + std::to_string(method) +
           "); torch.save stores its entries uncompressed");
    }
    if (values.disk != 0) fail(named + " is on another disk");
    if (values.compressed_size != values.size) {
      fail(named + " is stored, but its compressed and uncompressed sizes differ");
    }
    entry.size = values.size;
    entry.crc32 = u32(bytes, at + 16);
    entry.record_offset = at;
    entry.header_offset = values.header_offset;

    // The local header: its own name and extra field (torch pads with one to align the data)
    // decide where the data starts. Its name must be the directory's, so that two directory
    // entries cannot share one local entry.
    const auto local = values.header_offset;
    if (!fits(local, local_header_size, directory.offset)) {
      fail(named + ": its local header (offset " + std::to_string(local) +
           ") is past the entries' area");
    }
    if (u32(bytes, local) != local_header_signature) {
      fail(named + ": no local header at offset " + std::to_string(local));
    }
    const std::uint64_t local_name_size = u16(bytes, local + 26);
    const std::uint64_t local_extra_size = u16(bytes, local + 28);
    const auto data_offset = local + local_header_size + local_name_size + local_extra_size;
    if (!fits(local + local_header_size, local_name_size + local_extra_size, directory.offset) ||
        bytes.substr(local + local_header_size, local_name_size) != entry.name) {
      fail(named + ": its local header names another entry or runs past the entries' area");
    }
    if (!fits(data_offset, entry.size, directory.offset)) {
      fail(named + ": its " + std::to_string(entry.size) + " bytes at offset " +
           std::to_string(data_offset) + " run past the entries' area (" +
           std::to_string(directory.offset) + " bytes)");
    }
    entry.data_offset = data_offset;
    if (!by_name_.emplace(entry.name, entries_.size()).second) {
      fail("two entries are named `" + printable_text(entry.name) + "`");
    }
    entries_.push_back(std::move(entry));
    at += central_header_size + variable;
  }
  if (at != directory_end) fail("its central directory has bytes after its last entry");

  std::vector<const zip_entry*> by_offset;
  by_offset.reserve(entries_.size());
  for (const auto& entry : entries_) by_offset.push_back(&entry);
  std::sort(by_offset.begin(), by_offset.end(), [](const zip_entry* a, const zip_entry* b) {
    return a->header_offset < b->header_offset;
  });
  for (std::size_t i = 1; i < by_offset.size(); ++i) {
    if (by_offset[i]->header_offset < by_offset[i - 1]->data_offset + by_offset[i - 1]->size) {
      fail("entries `" + printable_text(by_offset[i - 1]->name) + "` and `" +
           printable_text(by_offset[i]->name) + "` overlap");
    }
  }
}

const zip_entry* zip_archive::find(std::string_view name) const {
  const auto found = by_name_.find(name);
  return found == by_name_.end() ? nullptr : &entries_[found->second];
}

std::string_view zip_archive::data(const zip_entry& entry) const {
  const auto bytes = bytes_.substr(entry.data_offset, entry.size);
  if (zip_crc32(bytes) != entry.crc32) {
    fail("entry `" + printable_text(entry.name) +
         "` is damaged: its CRC-32 does not match its bytes");
  }
  return bytes;
}

std::uint32_t zip_crc32(std::string_view bytes) noexcept {
  static const auto table = [] {
    std::array<std::uint32_t, 256> values{};
    for (std::uint32_t i = 0; i < 256; ++i) {
      std::uint32_t value = i;
      for (int bit = 0; bit < 8; ++bit) value = (value >> 1) ^ ((value & 1) ? 0xedb88320u : 0u);
      values[i] = value;
    }
    return values;
  }();
  std::uint32_t crc = 0xffffffffu;
  for (const char c : bytes) crc = table[(crc ^ static_cast<unsigned char>(c)) & 0xff] ^ (crc >> 8);
  return crc ^ 0xffffffffu;
}

}  // namespace multigrid::reference
