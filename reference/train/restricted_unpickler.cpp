#include "train/restricted_unpickler.hpp"

#include <cstring>
#include <limits>
#include <unordered_map>
#include <utility>

#include "train/pickle_opcodes.hpp"
#include "train/printable_text.hpp"

namespace multigrid::reference {
namespace {

struct storage_type {
  storage_dtype dtype;
  const char* name;
  std::size_t size;
};

constexpr storage_type storage_types[] = {
    {storage_dtype::float64, "DoubleStorage", 8}, {storage_dtype::float32, "FloatStorage", 4},
    {storage_dtype::float16, "HalfStorage", 2},   {storage_dtype::bfloat16, "BFloat16Storage", 2},
    {storage_dtype::int64, "LongStorage", 8},     {storage_dtype::int32, "IntStorage", 4},
    {storage_dtype::int16, "ShortStorage", 2},    {storage_dtype::int8, "CharStorage", 1},
    {storage_dtype::uint8, "ByteStorage", 1},     {storage_dtype::boolean, "BoolStorage", 1}};

const storage_type& type_of(storage_dtype dtype) {
  for (const auto& type : storage_types) {
    if (type.dtype == dtype) return type;
  }
  return storage_types[0];  // unreachable: every enumerator is listed
}

// The callables a file may name. A global object's `integer` is one of these; storage types are
// storage_type_base plus their dtype.
enum global_id : std::int64_t {
  ordered_dict = 1,
  rebuild_tensor_v2 = 2,
  rebuild_parameter = 3,
  restore_type_tag = 4,
  storage_type_base = 16,
};

// More dimensions than any tensor of a model has (as for safetensors files); bounds the work of
// checking a tensor and the size of the view made of it.
constexpr std::size_t max_rank = 16;

constexpr std::int64_t int64_max = std::numeric_limits<std::int64_t>::max();

std::string hex_byte(unsigned char value) {
  static constexpr char digits[] = "0123456789abcdef";
  return std::string("0x") + digits[value >> 4] + digits[value & 0xf];
}

// a + b and a * b for non-negative int64 values, false when the result would not fit.
bool add(std::int64_t a, std::int64_t b, std::int64_t& out) {
  if (b > int64_max - a) return false;
  out = a + b;
  return true;
}
bool multiply(std::int64_t a, std::int64_t b, std::int64_t& out) {
  if (a != 0 && b > int64_max / a) return false;
  out = a * b;
  return true;
}

class machine {
 public:
  machine(std::string_view bytes, const unpickling_limits& limits)
      : bytes_(bytes), limits_(limits) {}

  unpickled run() {
    bool stopped = false;
    while (!stopped) {
      if (position_ >= bytes_.size()) {
        opcode_offset_ = position_;
        opcode_ = 0;
        throw unpickling_error("byte " + std::to_string(position_) +
                               ": the pickle ends before its STOP opcode");
      }
      opcode_offset_ = position_;
      opcode_ = static_cast<unsigned char>(bytes_[position_++]);
      stopped = step();
    }
    if (position_ != bytes_.size()) {
      throw unpickling_error("byte " + std::to_string(position_) + ": " +
                             std::to_string(bytes_.size() - position_) + " bytes after STOP");
    }
    return std::move(out_);
  }

 private:
  [[noreturn]] void fail(const std::string& what) const {
    const char* name = pickle_opcode_name(opcode_);
    throw unpickling_error("byte " + std::to_string(opcode_offset_) + " (" +
                           (name ? std::string(name) : hex_byte(opcode_)) + "): " + what);
  }

  // The next `count` bytes of the opcode's argument.
  std::string_view take(std::uint64_t count) {
    if (count > bytes_.size() - position_) {
      fail("its argument of " + std::to_string(count) + " bytes runs past the end of the pickle");
    }
    const auto part = bytes_.substr(position_, count);
    position_ += count;
    return part;
  }
  std::uint64_t take_unsigned(int width) {
    const auto part = take(static_cast<std::uint64_t>(width));
    std::uint64_t value = 0;
    for (int i = 0; i < width; ++i) {
      value |= std::uint64_t{static_cast<unsigned char>(part[static_cast<std::size_t>(i)])}
               << (8 * i);
    }
    return value;
  }
  // A line of GLOBAL's text argument, without its newline.
  std::string_view take_line() {
    const auto end = bytes_.find('\n', position_);
    if (end == std::string_view::npos) fail("its argument has no end of line");
    const auto line = bytes_.substr(position_, end - position_);
    position_ = end + 1;
    return line;
  }

  std::size_t make(pickle_object object) {
    if (out_.objects.size() >= limits_.max_objects) {
      fail("more than " + std::to_string(limits_.max_objects) + " objects");
    }
    out_.objects.push_back(std::move(object));
    return out_.objects.size() - 1;
  }
  std::size_t make(pickle_kind kind, std::int64_t integer = 0) {
    pickle_object object;
    object.kind = kind;
    object.integer = integer;
    return make(std::move(object));
  }
  pickle_object& object(std::size_t index) { return out_.objects[index]; }

  // The stack above the innermost MARK is what opcodes may pop, as in Python's unpickler.
  std::size_t floor() const { return marks_.empty() ? 0 : marks_.back(); }
  void push(std::size_t index) { stack_.push_back(index); }
  std::size_t pop() {
    if (stack_.size() <= floor()) fail("stack underflow");
    const auto index = stack_.back();
    stack_.pop_back();
    return index;
  }
  std::size_t top() {
    if (stack_.size() <= floor()) fail("stack underflow");
    return stack_.back();
  }
  std::vector<std::size_t> pop_to_mark() {
    if (marks_.empty()) fail("no MARK to pop to");
    std::vector<std::size_t> items(stack_.begin() + static_cast<std::ptrdiff_t>(marks_.back()),
                                   stack_.end());
    stack_.resize(marks_.back());
    marks_.pop_back();
    return items;
  }

  std::size_t make_tuple(std::vector<std::size_t> items) {
    pickle_object tuple;
    tuple.kind = pickle_kind::tuple;
    tuple.items = std::move(items);
    return make(std::move(tuple));
  }
  void make_string(std::string_view text) {
    pickle_object string;
    string.kind = pickle_kind::string;
    string.text = std::string(text);
    push(make(std::move(string)));
  }
  void make_integer(std::int64_t value) { push(make(pickle_kind::integer, value)); }

  // LONG1 and LONG4: a little-endian two's complement number of `size` bytes.
  void make_long(std::uint64_t size) {
    if (size > 8) fail("an integer of " + std::to_string(size) + " bytes, wider than 64 bits");
    const auto bytes = take(size);
    std::uint64_t value = 0;
    for (std::size_t i = 0; i < bytes.size(); ++i) {
      value |= std::uint64_t{static_cast<unsigned char>(bytes[i])} << (8 * i);
    }
    if (size > 0 && size < 8 && (static_cast<unsigned char>(bytes[size - 1]) & 0x80)) {
      value |= ~std::uint64_t{0} << (8 * size);  // sign extension
    }
    std::int64_t signed_value = 0;
    std::memcpy(&signed_value, &value, sizeof value);
    make_integer(signed_value);
  }

  void store(std::uint64_t index) { memo_[index] = top(); }
  void fetch(std::uint64_t index) {
    const auto found = memo_.find(index);
    if (found == memo_.end()) fail("memo index " + std::to_string(index) + " was never stored");
    push(found->second);
  }

  void global(std::string_view module, std::string_view name) {
    std::int64_t id = 0;
    if (module == "collections" && name == "OrderedDict") {
      id = ordered_dict;
    } else if (module == "torch._utils" && name == "_rebuild_tensor_v2") {
      id = rebuild_tensor_v2;
    } else if (module == "torch._utils" && name == "_rebuild_parameter") {
      id = rebuild_parameter;
    } else if (module == "torch.jit._pickle" && name == "restore_type_tag") {
      id = restore_type_tag;
    } else if (module == "torch") {
      for (const auto& type : storage_types) {
        if (name == type.name) id = storage_type_base + static_cast<std::int64_t>(type.dtype);
      }
    }
    if (id == 0) {
      fail("the global `" + printable_text(module) + " " + printable_text(name) +
           "` is not allowed: a weights file may name only collections.OrderedDict, "
           "torch._utils._rebuild_tensor_v2, torch._utils._rebuild_parameter, "
           "torch.jit._pickle.restore_type_tag and torch's storage types");
    }
    push(make(pickle_kind::global, id));
  }

  const pickle_object& expect(std::size_t index, pickle_kind kind, const std::string& what) {
    const auto& value = out_.objects[index];
    if (value.kind != kind) {
      fail(what + " is " + pickle_kind_name(value.kind) + ", not " + pickle_kind_name(kind));
    }
    return value;
  }
  std::int64_t expect_count(std::size_t index, const std::string& what) {
    const auto value = expect(index, pickle_kind::integer, what).integer;
    if (value < 0) fail(what + " is negative (" + std::to_string(value) + ")");
    return value;
  }
  void expect_empty_dict(std::size_t index, const std::string& what) {
    if (!expect(index, pickle_kind::dict, what).items.empty()) fail(what + " is not empty");
  }

  // BINPERSID's argument: ("storage", storage type, key, location, numel), what torch.save's
  // persistent_id writes for each storage.
  void persistent_load() {
    const auto& id = expect(pop(), pickle_kind::tuple, "the persistent id");
    if (id.items.size() != 5) {
      fail("the persistent id has " + std::to_string(id.items.size()) +
           " elements, not 5 (\"storage\", type, key, location, size)");
    }
    const auto items = id.items;
    if (expect(items[0], pickle_kind::string, "the persistent id's tag").text != "storage") {
      fail("the persistent id is not a storage's");
    }
    const auto& type = expect(items[1], pickle_kind::global, "the storage's type");
    if (type.integer < storage_type_base) fail("the storage's type is not a storage type");
    storage_reference storage;
    storage.dtype = static_cast<storage_dtype>(type.integer - storage_type_base);
    storage.key = expect(items[2], pickle_kind::string, "the storage's key").text;
    storage.location = expect(items[3], pickle_kind::string, "the storage's location").text;
    storage.numel = expect_count(items[4], "the storage's size");
    std::int64_t bytes = 0;
    if (!multiply(storage.numel, static_cast<std::int64_t>(storage_element_size(storage.dtype)),
                  bytes)) {
      fail("the storage's size " + std::to_string(storage.numel) + " overflows");
    }
    out_.storages.push_back(std::move(storage));
    push(make(pickle_kind::storage, static_cast<std::int64_t>(out_.storages.size() - 1)));
  }

  std::vector<std::int64_t> int_tuple(std::size_t index, const std::string& what) {
    const auto items = expect(index, pickle_kind::tuple, what).items;
    if (items.size() > max_rank) {
      fail(what + " has " + std::to_string(items.size()) + " dimensions, more than " +
           std::to_string(max_rank));
    }
    std::vector<std::int64_t> values;
    for (const auto item : items) values.push_back(expect_count(item, "an element of " + what));
    return values;
  }

  // _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad, backward_hooks
  // [, metadata]): every element the sizes and strides reach must lie inside the storage.
  std::size_t rebuild_tensor(const std::vector<std::size_t>& args) {
    if (args.size() != 6 && args.size() != 7) {
      fail("_rebuild_tensor_v2 takes 6 or 7 arguments, not " + std::to_string(args.size()));
    }
    tensor_reference tensor;
    tensor.storage = static_cast<std::size_t>(
        expect(args[0], pickle_kind::storage, "the tensor's storage").integer);
    tensor.offset = expect_count(args[1], "the tensor's storage offset");
    const auto sizes = int_tuple(args[2], "the tensor's size");
    const auto strides = int_tuple(args[3], "the tensor's stride");
    tensor.sizes = args[2];
    tensor.strides = args[3];
    expect(args[4], pickle_kind::boolean, "the tensor's requires_grad");
    expect_empty_dict(args[5], "the tensor's backward hooks");
    if (args.size() == 7) expect_empty_dict(args[6], "the tensor's metadata");
    if (sizes.size() != strides.size()) {
      fail("the tensor has " + std::to_string(sizes.size()) + " sizes but " +
           std::to_string(strides.size()) + " strides");
    }
    const auto& storage = out_.storages[tensor.storage];
    const auto element_size = static_cast<std::int64_t>(storage_element_size(storage.dtype));
    std::int64_t numel = 1;
    std::int64_t last = tensor.offset;  // the furthest element reached
    for (std::size_t i = 0; i < sizes.size(); ++i) {
      if (!multiply(numel, sizes[i], numel)) fail("the tensor's element count overflows");
      std::int64_t reach = 0;
      if (sizes[i] > 0 && (!multiply(sizes[i] - 1, strides[i], reach) || !add(last, reach, last))) {
        fail("the tensor's size and stride overflow");
      }
    }
    std::int64_t bytes = 0;
    if (!multiply(numel, element_size, bytes)) fail("the tensor's byte count overflows");
    const bool empty = numel == 0;
    if (empty ? tensor.offset > storage.numel : last >= storage.numel) {
      fail("the tensor reaches element " + std::to_string(last) + " of its storage `" +
           printable_text(storage.key) + "`, which holds " + std::to_string(storage.numel));
    }
    out_.tensors.push_back(std::move(tensor));
    return make(pickle_kind::tensor, static_cast<std::int64_t>(out_.tensors.size() - 1));
  }

  void reduce() {
    const auto args_index = pop();
    const auto callable = expect(pop(), pickle_kind::global, "REDUCE's callable").integer;
    const auto args = expect(args_index, pickle_kind::tuple, "REDUCE's arguments").items;
    switch (callable) {
      case ordered_dict: {
        if (!args.empty()) fail("OrderedDict is called with arguments");
        pickle_object dict;
        dict.kind = pickle_kind::dict;
        dict.ordered = true;
        push(make(std::move(dict)));
        return;
      }
      case rebuild_tensor_v2:
        push(rebuild_tensor(args));
        return;
      case rebuild_parameter:
        // _rebuild_parameter(data, requires_grad, backward_hooks): the parameter is its tensor.
        if (args.size() != 3) {
          fail("_rebuild_parameter takes 3 arguments, not " + std::to_string(args.size()));
        }
        expect(args[0], pickle_kind::tensor, "the parameter's data");
        expect(args[1], pickle_kind::boolean, "the parameter's requires_grad");
        expect_empty_dict(args[2], "the parameter's backward hooks");
        push(args[0]);
        return;
      case restore_type_tag:
        // LibTorch's pickler (torch::pickle_save, which writes our exports) tags typed dicts and
        // lists with their TorchScript type; Python's restore_type_tag returns the value as is.
        if (args.size() != 2) {
          fail("restore_type_tag takes 2 arguments, not " + std::to_string(args.size()));
        }
        expect(args[1], pickle_kind::string, "the type tag");
        push(args[0]);
        return;
      default:
        fail("a storage type is called");
    }
  }

  void append(std::size_t list, const std::vector<std::size_t>& items) {
    auto& target = object(list);
    if (target.kind != pickle_kind::list) {
      fail("appends to " + std::string(pickle_kind_name(target.kind)) + ", not a list");
    }
    target.items.insert(target.items.end(), items.begin(), items.end());
  }
  void set_items(std::size_t dict, const std::vector<std::size_t>& items) {
    auto& target = object(dict);
    if (target.kind != pickle_kind::dict) {
      fail("sets items of " + std::string(pickle_kind_name(target.kind)) + ", not a dict");
    }
    if (items.size() % 2 != 0) fail("a key without a value");
    target.items.insert(target.items.end(), items.begin(), items.end());
  }

  // Runs the opcode just read; true at STOP.
  bool step() {
    switch (opcode_) {
      case pickle_op::proto: {
        if (opcode_offset_ != 0) fail("PROTO after the start");
        const auto protocol = take_unsigned(1);
        if (protocol < 2 || protocol > 5) {
          fail("pickle protocol " + std::to_string(protocol) + ", not 2 to 5");
        }
        return false;
      }
      case pickle_op::frame: {
        // Frames only group opcodes for buffered reading; their content is read as usual.
        const auto size = take_unsigned(8);
        if (size > bytes_.size() - position_) fail("the frame runs past the end of the pickle");
        return false;
      }
      case pickle_op::stop:
        if (!marks_.empty()) fail("a MARK is still open");
        if (stack_.size() != 1) {
          fail(std::to_string(stack_.size()) + " values on the stack, not 1");
        }
        out_.root = stack_.back();
        return true;
      case pickle_op::mark:
        if (marks_.size() >= limits_.max_nesting) {
          fail("MARKs nested deeper than " + std::to_string(limits_.max_nesting));
        }
        marks_.push_back(stack_.size());
        return false;
      case pickle_op::none:
        push(make(pickle_kind::none));
        return false;
      case pickle_op::newtrue:
      case pickle_op::newfalse:
        push(make(pickle_kind::boolean, opcode_ == pickle_op::newtrue ? 1 : 0));
        return false;
      case pickle_op::binint1:
        make_integer(static_cast<std::int64_t>(take_unsigned(1)));
        return false;
      case pickle_op::binint2:
        make_integer(static_cast<std::int64_t>(take_unsigned(2)));
        return false;
      case pickle_op::binint:
        make_integer(static_cast<std::int32_t>(static_cast<std::uint32_t>(take_unsigned(4))));
        return false;
      case pickle_op::long1:
        make_long(take_unsigned(1));
        return false;
      case pickle_op::long4: {
        const auto size = static_cast<std::int32_t>(static_cast<std::uint32_t>(take_unsigned(4)));
        if (size < 0) fail("a negative length");
        make_long(static_cast<std::uint64_t>(size));
        return false;
      }
      case pickle_op::binfloat: {
        const auto bytes = take(8);
        std::uint64_t bits = 0;
        for (const char c : bytes)
          bits = (bits << 8) | static_cast<unsigned char>(c);  // big-endian
        pickle_object number;
        number.kind = pickle_kind::floating;
        std::memcpy(&number.floating, &bits, sizeof bits);
        push(make(std::move(number)));
        return false;
      }
      case pickle_op::short_binunicode:
        make_string(take(take_unsigned(1)));
        return false;
      case pickle_op::binunicode:
        make_string(take(take_unsigned(4)));
        return false;
      case pickle_op::binunicode8:
        make_string(take(take_unsigned(8)));
        return false;
      case pickle_op::empty_tuple:
        push(make_tuple({}));
        return false;
      case pickle_op::tuple:
        push(make_tuple(pop_to_mark()));
        return false;
      case pickle_op::tuple1:
      case pickle_op::tuple2:
      case pickle_op::tuple3: {
        std::vector<std::size_t> items(opcode_ - pickle_op::tuple1 + 1);
        for (auto item = items.rbegin(); item != items.rend(); ++item) *item = pop();
        push(make_tuple(std::move(items)));
        return false;
      }
      case pickle_op::empty_list:
        push(make(pickle_kind::list));
        return false;
      case pickle_op::empty_dict:
        push(make(pickle_kind::dict));
        return false;
      case pickle_op::append: {
        const auto item = pop();
        append(top(), {item});
        return false;
      }
      case pickle_op::appends: {
        const auto items = pop_to_mark();
        append(top(), items);
        return false;
      }
      case pickle_op::setitem: {
        const auto value = pop();
        const auto key = pop();
        set_items(top(), {key, value});
        return false;
      }
      case pickle_op::setitems: {
        const auto items = pop_to_mark();
        set_items(top(), items);
        return false;
      }
      case pickle_op::binput:
        store(take_unsigned(1));
        return false;
      case pickle_op::long_binput:
        store(take_unsigned(4));
        return false;
      case pickle_op::memoize:
        store(memo_.size());
        return false;
      case pickle_op::binget:
        fetch(take_unsigned(1));
        return false;
      case pickle_op::long_binget:
        fetch(take_unsigned(4));
        return false;
      case pickle_op::global: {
        const auto module = take_line();
        const auto name = take_line();
        global(module, name);
        return false;
      }
      case pickle_op::stack_global: {
        const auto name = expect(pop(), pickle_kind::string, "the global's name").text;
        const auto module = expect(pop(), pickle_kind::string, "the global's module").text;
        global(module, name);
        return false;
      }
      case pickle_op::reduce:
        reduce();
        return false;
      case pickle_op::build: {
        // OrderedDict.__reduce__ hands its instance __dict__ (state_dict()'s `_metadata`) to
        // BUILD; the versions of modules it records do not matter to the tensors.
        const auto state = pop();
        const auto& target = object(top());
        if (target.kind != pickle_kind::dict || !target.ordered) {
          fail("BUILD on " + std::string(pickle_kind_name(target.kind)) +
               ", which only an OrderedDict may take");
        }
        expect(state, pickle_kind::dict, "the OrderedDict's state");
        return false;
      }
      case pickle_op::binpersid:
        persistent_load();
        return false;
      default:
        fail(pickle_opcode_name(opcode_) ? "an opcode this reader does not run"
                                         : "an unknown or unsupported opcode");
    }
  }

  std::string_view bytes_;
  unpickling_limits limits_;
  std::size_t position_ = 0;
  std::size_t opcode_offset_ = 0;
  unsigned char opcode_ = 0;
  unpickled out_;
  std::vector<std::size_t> stack_;
  std::vector<std::size_t> marks_;  ///< stack sizes at each open MARK
  std::unordered_map<std::uint64_t, std::size_t> memo_;
};

}  // namespace

std::size_t storage_element_size(storage_dtype dtype) noexcept {
  return type_of(dtype).size;
}

const char* storage_type_name(storage_dtype dtype) noexcept {
  return type_of(dtype).name;
}

const char* pickle_kind_name(pickle_kind kind) noexcept {
  switch (kind) {
    case pickle_kind::none:
      return "None";
    case pickle_kind::boolean:
      return "a bool";
    case pickle_kind::integer:
      return "an int";
    case pickle_kind::floating:
      return "a float";
    case pickle_kind::string:
      return "a string";
    case pickle_kind::tuple:
      return "a tuple";
    case pickle_kind::list:
      return "a list";
    case pickle_kind::dict:
      return "a dict";
    case pickle_kind::global:
      return "a class or function";
    case pickle_kind::storage:
      return "a storage";
    case pickle_kind::tensor:
      return "a tensor";
  }
  return "a value";
}

std::vector<std::int64_t> unpickled::integers(std::size_t index) const {
  std::vector<std::int64_t> values;
  for (const auto item : at(index).items) values.push_back(at(item).integer);
  return values;
}

const pickle_object* unpickled::find(const pickle_object& dict, std::string_view key) const {
  if (dict.kind != pickle_kind::dict) return nullptr;
  const pickle_object* found = nullptr;
  for (std::size_t i = 0; i + 1 < dict.items.size(); i += 2) {
    const auto& candidate = objects[dict.items[i]];
    if (candidate.kind == pickle_kind::string && candidate.text == key) {
      found = &objects[dict.items[i + 1]];
    }
  }
  return found;
}

unpickled unpickle(std::string_view bytes, const unpickling_limits& limits) {
  return machine(bytes, limits).run();
}

}  // namespace multigrid::reference
