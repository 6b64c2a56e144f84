#pragma once
// One checkpoint file: a LibTorch archive behind a small header holding its length and checksum,
// written so that readers see the previous file or the new one, never a torn one (a temporary file
// in the same folder, flushed to disk, then renamed over the target). LibTorch's zip reader
// notices a truncated archive but not changed bytes inside one; the checksum catches both.

#include <torch/torch.h>

#include <cstdint>
#include <stdexcept>
#include <string>

namespace multigrid::reference {

/// A checkpoint that cannot be written or read; the message names the file.
class checkpoint_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// Bytes before the archive: magic, archive length, checksum.
constexpr std::size_t checkpoint_header_size = 64;

/// Temporary files are named `<target>.tmp.<pid>`; a writer killed mid-way leaves one behind.
std::string temporary_checkpoint_path(const std::string& path);

/// Writes `archive` to `path` atomically. On failure the temporary file is removed, `path` keeps
/// its previous content, and checkpoint_error names the file and the cause.
void write_archive_atomically(torch::serialize::OutputArchive& archive, const std::string& path);

/// Checks the header, the length and the checksum without parsing the archive; throws
/// checkpoint_error naming the file and what is wrong (not a checkpoint, truncated, corrupt).
void verify_checkpoint_file(const std::string& path);

/// Verifies the file, then parses the archive with every tensor on the CPU.
torch::serialize::InputArchive read_archive(const std::string& path);

}  // namespace multigrid::reference
