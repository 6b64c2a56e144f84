#pragma once
// One checkpoint file: a safetensors file (safetensors_format.hpp) whose "__metadata__" comes
// first and starts with a checksum of the whole file, written so that readers see the previous
// file or the new one, never a torn one (a temporary file in the same folder, flushed to disk,
// then renamed over the target). The length check catches truncation, the checksum changed bytes;
// the parser refuses everything else. Reading never hands a byte of the file to LibTorch's
// deserializers: tensors are made with torch::empty and filled with bytes the parser bounded.
//
// Layout (docs/training.md): bytes 8..36 are `{"__metadata__":{"checksum":"`, bytes 37..52 the
// checksum as 16 lowercase hex digits, computed over the whole file with those 16 bytes read as
// the digit '0'.

#include <torch/torch.h>

#include <cstdint>
#include <map>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "train/safetensors_format.hpp"

namespace multigrid::reference {

/// A checkpoint that cannot be written or read; the message names the file.
class checkpoint_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// A checkpoint of the format before this one (a LibTorch archive behind a 64-byte header).
class legacy_checkpoint_error : public checkpoint_error {
 public:
  using checkpoint_error::checkpoint_error;
};

/// Tensors by name, in the order they are written.
using named_tensors = std::vector<std::pair<std::string, torch::Tensor>>;
/// Metadata entries, in the order they are written (after the checksum).
using checkpoint_metadata = std::vector<std::pair<std::string, std::string>>;

/// Temporary files are named `<target>.tmp.<pid>`; a writer killed mid-way leaves one behind.
std::string temporary_checkpoint_path(const std::string& path);

/// The content of the regular file `path`, read whole; `what` names it in messages ("checkpoint",
/// "weights file"). Throws checkpoint_error naming the file.
std::string read_file_bytes(const std::string& path, const std::string& what = "checkpoint");

/// Writes `metadata` and `tensors` (copied to the CPU one at a time) to `path` atomically. On
/// failure the temporary file is removed, `path` keeps its previous content, and checkpoint_error
/// names the file and the cause.
void write_checkpoint_file(const std::string& path, const checkpoint_metadata& metadata,
                           const named_tensors& tensors);

/// A checkpoint file read into memory and verified: length, checksum and safetensors header.
class checkpoint_file {
 public:
  /// Reads and verifies `path`. Throws checkpoint_error naming the file and what is wrong (not a
  /// checkpoint, truncated, corrupt, malformed), legacy_checkpoint_error for the old format.
  explicit checkpoint_file(const std::string& path);
  /// Verifies `bytes` as the content of a file named `path` (which is only used in messages).
  checkpoint_file(std::string path, std::string bytes);

  const std::string& path() const noexcept { return path_; }
  const std::map<std::string, std::string>& metadata() const noexcept { return index_.metadata; }
  const safetensors_index& index() const noexcept { return index_; }

  /// The tensors whose names start with `prefix`, under their names without it, as new CPU
  /// tensors. Throws checkpoint_error for a BOOL tensor holding a byte other than 0 or 1.
  std::map<std::string, torch::Tensor> tensors(const std::string& prefix) const;

 private:
  std::string path_;
  std::string bytes_;
  safetensors_index index_;
};

/// Checks the length, the checksum and the header without making tensors; throws as
/// checkpoint_file does.
void verify_checkpoint_file(const std::string& path);

/// Sets the checksum field of checkpoint-shaped `bytes` to their checksum (when they are long
/// enough to hold it): for tests and fuzzing that craft files the parser must then refuse.
std::string seal_checkpoint_bytes(std::string bytes);

/// The safetensors dtype of a LibTorch scalar type, and back; throw std::invalid_argument for
/// types safetensors has no name for.
safetensors_dtype safetensors_dtype_of(torch::ScalarType type);
torch::ScalarType scalar_type_of(safetensors_dtype dtype);

}  // namespace multigrid::reference
