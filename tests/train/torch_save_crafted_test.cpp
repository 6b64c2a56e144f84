// Crafted torch.save files: each defect that the zip reader, the restricted unpickler or the
// tensor checks must catch. Every one ends in checkpoint_error naming the file and the defect;
// none may crash, hang or allocate what the file cannot justify.
#include <doctest/doctest.h>

#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "temporary_folder.hpp"
#include "torch_save_bytes.hpp"
#include "train/checkpoint_file.hpp"
#include "train/pyslowfast_weights.hpp"
#include "train/restricted_unpickler.hpp"
#include "train/torch_save_file.hpp"

using namespace multigrid::reference;
using namespace multigrid::reference::testing;

namespace {

std::string floats(const std::vector<float>& values) {
  std::string bytes(values.size() * sizeof(float), '\0');
  std::memcpy(bytes.data(), values.data(), bytes.size());
  return bytes;
}

const std::string four_floats = floats({1, 2, 3, 4});

// {"model_state": {"w": `tensor`}} with storage "0" holding `storage`.
std::vector<zip_member> weights_members(const std::string& tensor,
                                        const std::string& storage = four_floats) {
  using namespace pickle;
  return {{"archive/data.pkl", program(dict({{text("model_state"), dict({{text("w"), tensor}})}}))},
          {"archive/data/0", storage},
          {"archive/version", "3\n"}};
}

const std::string good_tensor = pickle::tensor("0", "FloatStorage", 4, 0, {2, 2}, {2, 1});

std::string error_of(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary | std::ios::trunc)
      .write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  try {
    read_pyslowfast_weights(path);
  } catch (const checkpoint_error& error) {
    return error.what();
  }
  return "no error";
}

// The offset of the first central directory entry of a non-ZIP64 archive without a comment.
std::size_t directory_offset(const std::string& zip) {
  std::uint32_t offset = 0;
  for (int i = 0; i < 4; ++i) {
    offset |= std::uint32_t{static_cast<unsigned char>(zip[zip.size() - 6 + i])} << (8 * i);
  }
  return offset;
}

}  // namespace

TEST_CASE("a crafted torch.save file is refused with the file and the defect named") {
  temporary_folder folder("torch-save-crafted");
  const auto path = folder.file("crafted.pyth");
  using namespace pickle;

  // The well-formed file the cases change loads, as ZIP64 too.
  const auto good = zip_file(weights_members(good_tensor));
  CHECK(error_of(path, good) == "no error");
  CHECK(torch::equal(read_pyslowfast_weights(path).at("w"),
                     torch::tensor({1.0f, 2.0f, 3.0f, 4.0f}).reshape({2, 2})));
  CHECK(error_of(path, zip_file(weights_members(good_tensor), true)) == "no error");

  struct defect {
    const char* what;
    std::string bytes;
    const char* message;
  };
  std::vector<defect> defects = {
      {"not a zip", std::string(100, 'x'), "no end-of-central-directory record"},
      {"format before PyTorch 1.6", std::string(legacy_torch_save_magic) + std::string(100, 'x'),
       "a torch.save file of the format before PyTorch 1.6"},
      {"compressed entry",
       zip_file({{"archive/data.pkl", program(dict({})), 8}, {"archive/version", "3\n"}}),
       "entry `archive/data.pkl` is compressed (method 8)"},
      {"two entries of one name",
       zip_file({{"archive/data.pkl", program(dict({}))}, {"archive/data.pkl", "x"}}),
       "two entries are named `archive/data.pkl`"},
      {"no data.pkl", zip_file({{"archive/version", "3\n"}}), "no `archive/data.pkl`"},
      {"big-endian",
       zip_file({{"archive/byteorder", "big"}, {"archive/data.pkl", program(dict({}))}}),
       "big-endian"},
      {"forbidden global",
       zip_file(weights_members(global("os", "system") + tuple({text("ls")}) + "R")),
       "(GLOBAL): the global `os system` is not allowed"},
      {"forbidden global in protocol 4",
       zip_file(weights_members("\x8c\x05posix\x8c\x06system\x93")),
       "(STACK_GLOBAL): the global `posix system` is not allowed"},
      {"unknown opcode", zip_file(weights_members("\xff")),
       "(0xff): an unknown or unsupported opcode"},
      {"opcode this reader does not run", zip_file(weights_members("i")),
       "(0x69): an unknown or unsupported opcode"},
      {"storage smaller than the tensor",
       zip_file(weights_members(tensor("0", "FloatStorage", 4, 0, {3, 2}, {2, 1}))),
       "the tensor reaches element 5 of its storage `0`, which holds 4"},
      {"storage offset past the storage",
       zip_file(weights_members(tensor("0", "FloatStorage", 4, 4, {1}, {1}))),
       "the tensor reaches element 4"},
      {"size times stride overflows",
       zip_file(
           weights_members(tensor("0", "FloatStorage", 4, 0, {std::int64_t{1} << 62, 1}, {4, 1}))),
       "the tensor's size and stride overflow"},
      {"element count overflows",
       zip_file(
           weights_members(tensor("0", "FloatStorage", 4, 0, {std::int64_t{1} << 62, 8}, {0, 0}))),
       "the tensor's element count overflows"},
      {"negative size", zip_file(weights_members(tensor("0", "FloatStorage", 4, 0, {-1}, {1}))),
       "an element of the tensor's size is negative (-1)"},
      {"sizes and strides of different lengths",
       zip_file(weights_members(tensor("0", "FloatStorage", 4, 0, {2, 2}, {1}))),
       "the tensor has 2 sizes but 1 strides"},
      {"memo index out of range", zip_file(weights_members("h\x07")),
       "(BINGET): memo index 7 was never stored"},
      {"stack underflow", zip_file({{"archive/data.pkl", program("}s")}}),
       "(SETITEM): stack underflow"},
      {"too deep nesting", zip_file({{"archive/data.pkl", program(std::string(100, '('))}}),
       "(MARK): MARKs nested deeper than 64"},
      {"no STOP", zip_file({{"archive/data.pkl", "\x80\x02}"}}), "ends before its STOP opcode"},
      {"string past the end",
       zip_file({{"archive/data.pkl", "\x80\x02X" + little_endian(1000, 4) + "ab"}}),
       "(BINUNICODE): its argument of 1000 bytes runs past the end of the pickle"},
      {"wrong type",
       zip_file(weights_members(global("torch._utils", "_rebuild_tensor_v2") + integer(5) + "R")),
       "REDUCE's arguments is an int, not a tuple"},
      {"storage entry smaller than the storage",
       zip_file(weights_members(good_tensor, floats({1, 2}))),
       "storage `0`: its entry holds 8 bytes, but 4 elements of FloatStorage take 16"},
      {"storage entry missing",
       zip_file(weights_members(tensor("9", "FloatStorage", 4, 0, {4}, {1}))),
       "storage `9` has no entry `archive/data/9`"},
      {"one key, two storages",
       zip_file(weights_members(tensor("0", "FloatStorage", 4, 0, {4}, {1}) +
                                tensor("0", "LongStorage", 2, 0, {2}, {1}) + "\x86")),
       "storage `0` is named as 4 of FloatStorage and as 2 of LongStorage"},
      {"bool storage holding 7",
       zip_file(weights_members(tensor("0", "BoolStorage", 2, 0, {2}, {1}), "\x01\x07")),
       "is BoolStorage but holds a byte other than 0 or 1"},
      {"not a tensor", zip_file(weights_members(integer(5))), "its model_state `w` is an int"},
      {"not a dict", zip_file({{"archive/data.pkl", program("]")}}), "it holds a list, not a dict"},
  };

  // Damage to the archive's records.
  auto damaged = good;
  const auto directory = directory_offset(good);
  patch(damaged, good.size() - 6, good.size() + 100, 4);
  defects.push_back({"central directory past the end", damaged, "is past the end of the archive"});
  damaged = good;
  patch(damaged, good.size() - 12, 0xfffe, 2);
  patch(damaged, good.size() - 14, 0xfffe, 2);
  defects.push_back({"entry count beyond the directory", damaged,
                     "65534 entries claimed, more than its central directory"});
  damaged = good;
  patch(damaged, directory + 42, 0x7fffffff, 4);
  defects.push_back({"local header offset past the end", damaged,
                     "entry `archive/data.pkl`: its local header (offset 2147483647) is past"});
  damaged = good;
  patch(damaged, directory + 20, 0x10000, 4);
  patch(damaged, directory + 24, 0x10000, 4);
  defects.push_back({"entry size past the end", damaged,
                     "entry `archive/data.pkl`: its 65536 bytes at offset 46 run past"});
  damaged = good;
  damaged[good.find(four_floats) + 1] ^= 1;
  defects.push_back({"changed storage byte", damaged,
                     "entry `archive/data/0` is damaged: its CRC-32 does not match"});
  damaged = good;
  patch(damaged, directory + 16, 0, 4);  // data.pkl's CRC
  defects.push_back({"changed pickle CRC", damaged, "entry `archive/data.pkl` is damaged"});

  // One entry's local header inside another's data: entries must not overlap.
  const zip_member inner{"archive/data/0", four_floats};
  const zip_member outer{"archive/data/1", local_entry(inner)};
  const zip_member pickle_member{"archive/data.pkl", program(dict({}))};
  const auto outer_at = local_entry(pickle_member).size();
  const auto inner_at = outer_at + 30 + outer.name.size();
  const auto overlapping_directory = central_entry(pickle_member, 0, false) +
                                     central_entry(outer, outer_at, false) +
                                     central_entry(inner, inner_at, false);
  const auto entries_area = local_entry(pickle_member) + local_entry(outer);
  defects.push_back({"overlapping entries",
                     entries_area + overlapping_directory +
                         end_records(3, entries_area.size(), overlapping_directory.size(),
                                     entries_area.size() + overlapping_directory.size(), false),
                     "entries `archive/data/1` and `archive/data/0` overlap"});

  // ZIP64 records that point nowhere.
  auto zip64 = zip_file(weights_members(good_tensor), true);
  patch(zip64, zip64.size() - 22 - 20 + 8, zip64.size(), 8);
  defects.push_back({"ZIP64 record past the end", zip64, "its ZIP64 end record offset"});
  const auto sizes_deferred = [] {
    auto entry = central_entry({"archive/data.pkl", program(dict({}))}, 0, false);
    patch(entry, 20, 0xffffffff, 4);
    return entry;
  }();
  const auto pickle_entry = local_entry({"archive/data.pkl", program(dict({}))});
  defects.push_back({"ZIP64 sizes without their extra field",
                     pickle_entry + sizes_deferred +
                         end_records(1, pickle_entry.size(), sizes_deferred.size(),
                                     pickle_entry.size() + sizes_deferred.size(), false),
                     "its sizes defer to a ZIP64 extra field that is not there"});

  for (const auto& item : defects) {
    const std::string what = item.what;
    CAPTURE(what);
    const auto message = error_of(path, item.bytes);
    CHECK(looks_like_torch_save(path) == (item.bytes[0] != 'x'));
    CHECK(message.rfind(path + ": ", 0) == 0);
    CHECK_MESSAGE(message.find(item.message) != std::string::npos, message);
  }
}

TEST_CASE("every truncation of a torch.save file is refused as truncated") {
  temporary_folder folder("torch-save-truncated");
  const auto path = folder.file("truncated.pyth");
  const auto good = zip_file(weights_members(good_tensor), true);
  for (std::size_t size = 0; size < good.size(); ++size) {
    CAPTURE(size);
    const auto message = error_of(path, good.substr(0, size));
    CHECK(message.rfind(path + ": ", 0) == 0);
    CHECK(message.find("truncated or not a zip archive") != std::string::npos);
  }
}

TEST_CASE("the unpickler's limits on objects and nesting apply") {
  using namespace pickle;
  const auto error_of = [](const std::string& bytes, const unpickling_limits& limits) {
    try {
      unpickle(bytes, limits);
    } catch (const unpickling_error& error) {
      return std::string(error.what());
    }
    return std::string("no error");
  };
  const auto list_of_tuples = program("](" + std::string(200, ')') + "e");
  CHECK(unpickle(list_of_tuples).root_object().items.size() == 200);
  unpickling_limits limits;
  limits.max_objects = 100;
  CHECK(error_of(list_of_tuples, limits) == "byte 103 (EMPTY_TUPLE): more than 100 objects");
  limits = {};
  limits.max_nesting = 2;
  CHECK(error_of(program("((("), limits) == "byte 4 (MARK): MARKs nested deeper than 2");
  // A list that holds itself (which the memo allows) is no problem: nothing recurses.
  const auto cyclic = unpickle(program(std::string("]q\0h\0a", 6)));
  CHECK(cyclic.root_object().items == std::vector<std::size_t>{cyclic.root});
}
