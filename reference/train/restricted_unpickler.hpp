#pragma once
// The pickle `torch.save` writes as `data.pkl`, read by a small pickle machine that knows only
// what a state dict, an optimizer state and the plain values beside them need. Python's unpickler
// calls whatever a file names, and LibTorch's trusts the lengths and indices it reads (crafted
// bytes crash it); this one accepts protocol 2 (torch.save's) and the protocol 4 opcodes that
// are cheap to accept, lets a file name only the callables on a short list (OrderedDict, torch's
// tensor and parameter rebuilders, the storage types, and the type tag LibTorch's own pickler
// adds), checks every length against the bytes left and every memo index and stack access before
// use, and refuses anything else naming the byte offset and the opcode.
//
// Tensors are only described here (storage, offset, sizes, strides), checked to lie inside the
// storage they name; torch_save_file makes them from the archive's bytes. Objects live in one
// table and refer to each other by index, so shared and even cyclic structures, which the memo
// allows, cost nothing to free, and nothing here recurses, however deep a value nests. Each
// opcode makes at most one object, so their number is bounded by the pickle's length as well as
// by unpickling_limits.

#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace multigrid::reference {

/// What is wrong with a pickle, with the byte offset and opcode; the caller adds the file's name.
class unpickling_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// The element types of the storages a file may name (`torch.FloatStorage`, ...).
enum class storage_dtype {
  float64,
  float32,
  float16,
  bfloat16,
  int64,
  int32,
  int16,
  int8,
  uint8,
  boolean
};

std::size_t storage_element_size(storage_dtype dtype) noexcept;
/// "FloatStorage", ...
const char* storage_type_name(storage_dtype dtype) noexcept;

enum class pickle_kind {
  none,
  boolean,
  integer,
  floating,
  string,
  tuple,
  list,
  dict,    ///< a dict or a collections.OrderedDict
  global,  ///< one of the allowed callables, not called
  storage,
  tensor,
};

/// "a dict", "a tensor", ...: for messages.
const char* pickle_kind_name(pickle_kind kind) noexcept;

struct pickle_object {
  pickle_kind kind = pickle_kind::none;
  /// The value of an integer or boolean (0, 1); for a storage or tensor, its index in
  /// unpickled::storages or unpickled::tensors; for a global, which one.
  std::int64_t integer = 0;
  double floating = 0;
  std::string text;  ///< a string's bytes (Python's str, as UTF-8)
  /// A tuple's or list's elements; a dict's keys and values, alternating, in insertion order (a
  /// key set twice appears twice; as in Python, the later value counts).
  std::vector<std::size_t> items;
  bool ordered = false;  ///< a dict made as collections.OrderedDict
};

/// A storage named by the file: `<archive>/data/<key>` holds its `numel` elements.
struct storage_reference {
  storage_dtype dtype = storage_dtype::float32;
  std::string key;
  std::string location;  ///< the device it was saved from ("cpu", "cuda:0"); ignored
  std::int64_t numel = 0;
};

/// A tensor as torch._utils._rebuild_tensor_v2 makes it: a strided view of a storage, every
/// element of which lies inside the storage (checked, without overflow). Its sizes and strides
/// stay tuples among the objects: a file that names many tensors of one memoized shape costs a
/// few bytes for each, and so does their description here.
struct tensor_reference {
  std::size_t storage = 0;  ///< index in unpickled::storages
  std::int64_t offset = 0;  ///< in elements
  std::size_t sizes = 0;    ///< index in unpickled::objects of a tuple of non-negative ints
  std::size_t strides = 0;  ///< likewise, as many
};

struct unpickled {
  std::vector<pickle_object> objects;
  std::vector<storage_reference> storages;
  std::vector<tensor_reference> tensors;
  std::size_t root = 0;

  const pickle_object& root_object() const { return objects[root]; }
  const pickle_object& at(std::size_t index) const { return objects.at(index); }
  /// The ints of the tuple `index` (a tensor_reference's sizes or strides).
  std::vector<std::int64_t> integers(std::size_t index) const;
  /// The value under the string key `key` of `dict` (the last one set, as in Python), or nullptr.
  const pickle_object* find(const pickle_object& dict, std::string_view key) const;
};

struct unpickling_limits {
  /// MARKs open at once: a state dict nests a few levels, an optimizer state a few more.
  std::size_t max_nesting = 64;
  /// About 40 per tensor of a state dict and its optimizer state: room for 100,000 tensors.
  std::size_t max_objects = std::size_t{1} << 22;
};

/// Runs the pickle `bytes` (which must end with its STOP opcode). Throws unpickling_error.
unpickled unpickle(std::string_view bytes, const unpickling_limits& limits = {});

}  // namespace multigrid::reference
