#include "train/safetensors_format.hpp"

#include <algorithm>
#include <limits>
#include <nlohmann/json.hpp>

namespace multigrid::reference {
namespace {

struct dtype_entry {
  safetensors_dtype dtype;
  const char* name;
  std::size_t size;
};

constexpr dtype_entry dtypes[] = {
    {safetensors_dtype::F64, "F64", 8}, {safetensors_dtype::F32, "F32", 4},
    {safetensors_dtype::F16, "F16", 2}, {safetensors_dtype::BF16, "BF16", 2},
    {safetensors_dtype::I64, "I64", 8}, {safetensors_dtype::I32, "I32", 4},
    {safetensors_dtype::I16, "I16", 2}, {safetensors_dtype::I8, "I8", 1},
    {safetensors_dtype::U8, "U8", 1},   {safetensors_dtype::BOOL, "BOOL", 1}};

const dtype_entry& entry_of(safetensors_dtype dtype) {
  for (const auto& entry : dtypes) {
    if (entry.dtype == dtype) return entry;
  }
  return dtypes[0];  // unreachable: every enumerator is listed
}

[[noreturn]] void fail(const std::string& what) {
  throw safetensors_error(what);
}

std::uint64_t read_u64(std::string_view bytes) {
  std::uint64_t value = 0;
  for (int i = 0; i < 8; ++i) {
    value |= std::uint64_t{static_cast<unsigned char>(bytes[static_cast<std::size_t>(i)])}
             << (8 * i);
  }
  return value;
}

// A non-negative integer that fits in int64, or an error naming `what`.
std::uint64_t read_count(const nlohmann::json& value, const std::string& what) {
  if (value.is_number_unsigned()) {
    const auto number = value.get<std::uint64_t>();
    if (number > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
      fail(what + " is too large");
    }
    return number;
  }
  if (value.is_number_integer()) fail(what + " is negative");
  fail(what + " is not an integer");
}

safetensors_tensor read_tensor(const std::string& name, const nlohmann::json& json,
                               std::uint64_t data_size) {
  const std::string where = "tensor `" + name + "`";
  if (!json.is_object()) fail(where + ": its entry is not a JSON object");
  for (const auto& [key, value] : json.items()) {
    if (key != "dtype" && key != "shape" && key != "data_offsets") {
      fail(where + ": unknown field `" + key + "`");
    }
  }
  safetensors_tensor tensor;
  tensor.name = name;
  const auto dtype = json.find("dtype");
  if (dtype == json.end() || !dtype->is_string()) fail(where + ": no dtype string");
  const auto& dtype_text = dtype->get_ref<const std::string&>();
  const auto known =
      std::find_if(std::begin(dtypes), std::end(dtypes),
                   [&](const dtype_entry& entry) { return dtype_text == entry.name; });
  if (known == std::end(dtypes)) fail(where + ": unsupported dtype `" + dtype_text + "`");
  tensor.dtype = known->dtype;

  const auto shape = json.find("shape");
  if (shape == json.end() || !shape->is_array()) fail(where + ": no shape array");
  if (shape->size() > safetensors_max_rank) {
    fail(where + ": " + std::to_string(shape->size()) + " dimensions, more than " +
         std::to_string(safetensors_max_rank));
  }
  // The byte count is checked against the data section at each step, so it cannot overflow.
  std::uint64_t size = known->size;
  bool empty = false;
  for (const auto& extent : *shape) {
    const auto value = read_count(extent, where + ": a shape entry");
    tensor.shape.push_back(static_cast<std::int64_t>(value));
    if (value == 0) empty = true;
    if (empty) continue;
    if (value > data_size / size) {
      fail(where + ": its shape needs more bytes than the file's data section holds (" +
           std::to_string(data_size) + ")");
    }
    size *= value;
  }
  if (empty) size = 0;

  const auto offsets = json.find("data_offsets");
  if (offsets == json.end() || !offsets->is_array() || offsets->size() != 2) {
    fail(where + ": data_offsets is not a [begin, end] pair");
  }
  tensor.begin = read_count((*offsets)[0], where + ": data_offsets begin");
  tensor.end = read_count((*offsets)[1], where + ": data_offsets end");
  if (tensor.begin > tensor.end) fail(where + ": data_offsets begin after end");
  if (tensor.end > data_size) {
    fail(where + ": data_offsets end " + std::to_string(tensor.end) +
         " is past the data section's " + std::to_string(data_size) + " bytes");
  }
  if (tensor.end - tensor.begin != size) {
    fail(where + ": data_offsets span " + std::to_string(tensor.end - tensor.begin) +
         " bytes, its dtype and shape need " + std::to_string(size));
  }
  return tensor;
}

}  // namespace

std::size_t element_size(safetensors_dtype dtype) noexcept {
  return entry_of(dtype).size;
}

const char* dtype_name(safetensors_dtype dtype) noexcept {
  return entry_of(dtype).name;
}

safetensors_index parse_safetensors(std::string_view bytes) {
  if (bytes.size() < 8) {
    fail(std::to_string(bytes.size()) + " bytes, shorter than the 8-byte header length");
  }
  safetensors_index index;
  index.header_size = read_u64(bytes);
  if (index.header_size > safetensors_max_header_size) {
    fail("header length " + std::to_string(index.header_size) + " is over the limit of " +
         std::to_string(safetensors_max_header_size));
  }
  if (index.header_size > bytes.size() - 8) {
    fail("header length " + std::to_string(index.header_size) + " is past the end of the " +
         std::to_string(bytes.size()) + "-byte file");
  }
  index.data_offset = 8 + index.header_size;
  const std::uint64_t data_size = bytes.size() - index.data_offset;
  const auto header = bytes.substr(8, static_cast<std::size_t>(index.header_size));
  if (header.empty() || header.front() != '{') fail("the header is not a JSON object");
  const auto json = nlohmann::json::parse(header.begin(), header.end(), nullptr,
                                          /*allow_exceptions=*/false);
  if (json.is_discarded()) fail("the header is not valid JSON");
  if (!json.is_object()) fail("the header is not a JSON object");

  for (const auto& [name, value] : json.items()) {
    if (name == "__metadata__") {
      if (!value.is_object()) fail("__metadata__ is not a JSON object");
      for (const auto& [key, text] : value.items()) {
        if (!text.is_string()) fail("__metadata__ entry `" + key + "` is not a string");
        index.metadata[key] = text.get<std::string>();
      }
      continue;
    }
    if (name.empty()) fail("a tensor has an empty name");
    index.tensors.push_back(read_tensor(name, value, data_size));
  }

  // The tensors must tile the data section: sorted by offset, each starts where the previous one
  // ends, and the last one ends at the end of the file. Hence no overlap and no unowned bytes.
  std::sort(index.tensors.begin(), index.tensors.end(),
            [](const safetensors_tensor& a, const safetensors_tensor& b) {
              return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
            });
  std::uint64_t expected = 0;
  for (const auto& tensor : index.tensors) {
    if (tensor.begin != expected) {
      fail("tensor `" + tensor.name + "` starts at byte " + std::to_string(tensor.begin) +
           " of the data section, expected " + std::to_string(expected) +
           (tensor.begin < expected ? " (it overlaps the tensor before)" : " (a gap before it)"));
    }
    expected = tensor.end;
  }
  if (expected != data_size) {
    fail("the tensors cover " + std::to_string(expected) + " bytes of the " +
         std::to_string(data_size) + "-byte data section (truncated, or trailing bytes)");
  }
  return index;
}

std::string_view tensor_bytes(std::string_view bytes, const safetensors_index& index,
                              const safetensors_tensor& tensor) {
  return bytes.substr(static_cast<std::size_t>(index.data_offset + tensor.begin),
                      static_cast<std::size_t>(tensor.end - tensor.begin));
}

std::string safetensors_header(const std::vector<safetensors_layout_entry>& tensors,
                               const std::vector<std::pair<std::string, std::string>>& metadata) {
  // Written piece by piece so that "__metadata__" comes first and its entries keep their order.
  std::string json = "{\"__metadata__\":{";
  bool first = true;
  for (const auto& [key, value] : metadata) {
    if (!first) json += ',';
    first = false;
    json += nlohmann::json(key).dump() + ':' + nlohmann::json(value).dump();
  }
  json += '}';
  std::uint64_t offset = 0;
  for (const auto& tensor : tensors) {
    std::uint64_t size = element_size(tensor.dtype);
    for (const auto extent : tensor.shape) size *= static_cast<std::uint64_t>(extent);
    nlohmann::ordered_json entry = {{"dtype", dtype_name(tensor.dtype)},
                                    {"shape", tensor.shape},
                                    {"data_offsets", {offset, offset + size}}};
    json += ',' + nlohmann::json(tensor.name).dump() + ':' + entry.dump();
    offset += size;
  }
  json += '}';
  json.append((8 - json.size() % 8) % 8, ' ');
  std::string out(8, '\0');
  for (int i = 0; i < 8; ++i)
    out[static_cast<std::size_t>(i)] = static_cast<char>(json.size() >> (8 * i));
  return out + json;
}

}  // namespace multigrid::reference
