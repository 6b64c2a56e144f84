#pragma once
// torch.save files built byte by byte, for tests that craft what Python would never write: the
// zip records (local entries, central directory, end records, ZIP64 or not) and the pickle
// opcodes of a dict of tensors, each piece separately so that a test can damage or rearrange it.

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "train/zip_archive.hpp"

namespace multigrid::reference::testing {

inline std::string little_endian(std::uint64_t value, int width) {
  std::string bytes;
  for (int i = 0; i < width; ++i) bytes += static_cast<char>((value >> (8 * i)) & 0xff);
  return bytes;
}

/// Overwrites `width` bytes of `bytes` at `offset` with `value`, little-endian.
inline void patch(std::string& bytes, std::size_t offset, std::uint64_t value, int width) {
  bytes.replace(offset, static_cast<std::size_t>(width), little_endian(value, width));
}

struct zip_member {
  std::string name;
  std::string data;
  std::uint16_t method = 0;  ///< 0 stored; any other claims compression (the data stays as is)
};

/// A local header and the data, as an archive's entry area holds it.
inline std::string local_entry(const zip_member& member) {
  return little_endian(0x04034b50, 4) + little_endian(20, 2) + little_endian(0, 2) +
         little_endian(member.method, 2) + little_endian(0, 4) +
         little_endian(zip_crc32(member.data), 4) + little_endian(member.data.size(), 4) +
         little_endian(member.data.size(), 4) + little_endian(member.name.size(), 2) +
         little_endian(0, 2) + member.name + member.data;
}

/// A central directory entry for `member`'s local entry at `offset`; with `zip64`, its sizes and
/// offset are in a ZIP64 extra field, as torch writes them for entries past 4 GiB.
inline std::string central_entry(const zip_member& member, std::uint64_t offset, bool zip64) {
  const std::uint64_t saturated = 0xffffffff;
  const auto size = zip64 ? saturated : member.data.size();
  const auto extra = zip64 ? little_endian(1, 2) + little_endian(24, 2) +
                                 little_endian(member.data.size(), 8) +
                                 little_endian(member.data.size(), 8) + little_endian(offset, 8)
                           : std::string();
  return little_endian(0x02014b50, 4) + little_endian(45, 2) + little_endian(45, 2) +
         little_endian(0, 2) + little_endian(member.method, 2) + little_endian(0, 4) +
         little_endian(zip_crc32(member.data), 4) + little_endian(size, 4) +
         little_endian(size, 4) + little_endian(member.name.size(), 2) +
         little_endian(extra.size(), 2) + little_endian(0, 2) + little_endian(0, 2) +
         little_endian(0, 2) + little_endian(0, 4) + little_endian(zip64 ? saturated : offset, 4) +
         member.name + extra;
}

/// The end records for `count` entries whose directory of `size` bytes starts at `offset`, the
/// records themselves starting at `at`: with `zip64`, the ZIP64 record and its locator first,
/// the classic record's fields saturated.
inline std::string end_records(std::uint64_t count, std::uint64_t offset, std::uint64_t size,
                               std::uint64_t at, bool zip64) {
  std::string bytes;
  if (zip64) {
    bytes += little_endian(0x06064b50, 4) + little_endian(44, 8) + little_endian(45, 2) +
             little_endian(45, 2) + little_endian(0, 4) + little_endian(0, 4) +
             little_endian(count, 8) + little_endian(count, 8) + little_endian(size, 8) +
             little_endian(offset, 8);
    bytes += little_endian(0x07064b50, 4) + little_endian(0, 4) + little_endian(at, 8) +
             little_endian(1, 4);
    count = 0xffff;
    size = offset = 0xffffffff;
  }
  return bytes + little_endian(0x06054b50, 4) + little_endian(0, 2) + little_endian(0, 2) +
         little_endian(count, 2) + little_endian(count, 2) + little_endian(size, 4) +
         little_endian(offset, 4) + little_endian(0, 2);
}

/// A zip archive of `members`, in order, stored.
inline std::string zip_file(const std::vector<zip_member>& members, bool zip64 = false) {
  std::string entries;
  std::string directory;
  for (const auto& member : members) {
    directory += central_entry(member, entries.size(), zip64);
    entries += local_entry(member);
  }
  return entries + directory +
         end_records(members.size(), entries.size(), directory.size(),
                     entries.size() + directory.size(), zip64);
}

/// Pickle opcodes (protocol 2), as Python's pickler writes them.
namespace pickle {

inline std::string text(const std::string& value) {
  return "X" + little_endian(value.size(), 4) + value;
}

inline std::string integer(std::int64_t value) {
  if (value >= 0 && value < 256) return "K" + little_endian(static_cast<std::uint64_t>(value), 1);
  return "\x8a\x08" + little_endian(static_cast<std::uint64_t>(value), 8);  // LONG1
}

inline std::string global(const std::string& module, const std::string& name) {
  return "c" + module + "\n" + name + "\n";
}

inline std::string tuple(const std::vector<std::string>& items) {
  std::string bytes = "(";
  for (const auto& item : items) bytes += item;
  return bytes + "t";
}

inline std::string integers(const std::vector<std::int64_t>& values) {
  std::vector<std::string> items;
  for (const auto value : values) items.push_back(integer(value));
  return tuple(items);
}

/// {key: value, ...} as EMPTY_DICT, MARK, the pairs, SETITEMS.
inline std::string dict(const std::vector<std::pair<std::string, std::string>>& items) {
  std::string bytes = "}(";
  for (const auto& [key, value] : items) bytes += key + value;
  return bytes + "u";
}

inline std::string ordered_dict() {
  return global("collections", "OrderedDict") + ")R";
}

/// A tensor of the storage `key` (`numel` elements of torch.`type`), as torch.save writes one.
inline std::string tensor(const std::string& key, const std::string& type, std::int64_t numel,
                          std::int64_t offset, const std::vector<std::int64_t>& sizes,
                          const std::vector<std::int64_t>& strides) {
  const auto storage =
      tuple({text("storage"), global("torch", type), text(key), text("cpu"), integer(numel)}) +
      "Q";  // BINPERSID
  return global("torch._utils", "_rebuild_tensor_v2") +
         tuple({storage, integer(offset), integers(sizes), integers(strides), "\x89",
                ordered_dict()}) +
         "R";
}

/// PROTO 2, `body`, STOP.
inline std::string program(const std::string& body) {
  return "\x80\x02" + body + ".";
}

}  // namespace pickle

}  // namespace multigrid::reference::testing
