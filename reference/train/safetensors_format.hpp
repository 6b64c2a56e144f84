#pragma once
// The safetensors container, as the `safetensors` package writes and reads it: an 8-byte
// little-endian length N, N bytes of JSON that map each tensor's name to its dtype, shape and
// [begin, end) byte offsets into the data that follows (with an optional "__metadata__" object of
// strings), then the data, row-major and little-endian, every byte belonging to exactly one
// tensor. PyTorch users read it with `safetensors.torch.load_file` or a few lines of NumPy.
//
// The parser trusts nothing it reads: the header length is checked against the bytes there are,
// every dtype, shape and offset before it is used, byte counts with overflow checks, and the
// tensors must tile the data section exactly. Any byte sequence therefore ends in an index whose
// every tensor lies inside the given bytes, or in safetensors_error.

#include <cstddef>
#include <cstdint>
#include <map>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace multigrid::reference {

/// What is wrong with a safetensors file; the caller adds the file's name.
class safetensors_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// The element types this reader accepts (safetensors' names: F32, I64, ...).
enum class safetensors_dtype { F64, F32, F16, BF16, I64, I32, I16, I8, U8, BOOL };

std::size_t element_size(safetensors_dtype dtype) noexcept;
const char* dtype_name(safetensors_dtype dtype) noexcept;

/// The header of the reference implementation may be at most this long; so is ours.
constexpr std::uint64_t safetensors_max_header_size = 100'000'000;
/// More dimensions than any tensor of ours has; a bound so that a shape cannot be huge.
constexpr std::size_t safetensors_max_rank = 16;

struct safetensors_tensor {
  std::string name;
  safetensors_dtype dtype = safetensors_dtype::F32;
  std::vector<std::int64_t> shape;
  std::uint64_t begin = 0;  ///< byte offsets into the data section
  std::uint64_t end = 0;
};

struct safetensors_index {
  std::map<std::string, std::string> metadata;
  std::vector<safetensors_tensor> tensors;  ///< in the order of their data
  std::uint64_t header_size = 0;            ///< N
  std::uint64_t data_offset = 0;            ///< 8 + N: where the data section starts
};

/// Parses the header of the file `bytes` and checks it against the file's length. Throws
/// safetensors_error saying what is wrong.
safetensors_index parse_safetensors(std::string_view bytes);

/// The data of `tensor`, a view into `bytes` (which parse_safetensors checked it lies within).
std::string_view tensor_bytes(std::string_view bytes, const safetensors_index& index,
                              const safetensors_tensor& tensor);

/// One tensor to write: its name, dtype and shape; its data comes later, in the same order.
struct safetensors_layout_entry {
  std::string name;
  safetensors_dtype dtype = safetensors_dtype::F32;
  std::vector<std::int64_t> shape;
};

/// The 8-byte length and the JSON header for tensors whose data follows contiguously in the given
/// order, with `metadata` in the given order as "__metadata__" (first). Padded with spaces to a
/// multiple of 8 bytes, as the reference writer does, so the data is aligned.
std::string safetensors_header(const std::vector<safetensors_layout_entry>& tensors,
                               const std::vector<std::pair<std::string, std::string>>& metadata);

}  // namespace multigrid::reference
