#pragma once
// A file that Python's `torch.save` wrote (PyTorch 1.6 and later: a zip archive whose entries
// all sit in one folder of any name: `data.pkl`, the pickled object, `data/<key>`, one raw
// storage each, and bookkeeping such as `version` and `byteorder`), read without LibTorch's
// unpickler: zip_archive finds the entries, restricted_unpickler runs the pickle, and tensors are
// made here with torch::empty, filled from the checked bytes of their storage's entry. As
// `torch.load` does, tensors that shared a storage when saved share one again (views keep their
// offset and strides), and every tensor lands on the CPU. Storages are read when a tensor of
// theirs is asked for, so unneeded ones (an optimizer's) cost no memory; each is copied once.
//
// A storage must name an entry whose size is exactly its element count times its element size,
// and each key one storage type and size. Big-endian files (`byteorder` "big") are refused.

#include <torch/torch.h>

#include <map>
#include <string>
#include <string_view>

#include "train/restricted_unpickler.hpp"
#include "train/zip_archive.hpp"

namespace multigrid::reference {

/// How a file of `torch.save` before PyTorch 1.6 (or with _use_new_zipfile_serialization=False)
/// starts: the pickled magic number 0x1950a86a20f9469cfc6c. Such files are recognised, not read.
constexpr std::string_view legacy_torch_save_magic{
    "\x80\x02\x8a\x0a\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19", 14};

class torch_save_file {
 public:
  /// Reads and parses `path`. Throws checkpoint_error naming the file and what is wrong.
  explicit torch_save_file(const std::string& path);
  /// Parses `bytes` as the content of a file named `path` (which is only used in messages).
  torch_save_file(std::string path, std::string bytes);
  // The archive refers into bytes_.
  torch_save_file(const torch_save_file&) = delete;
  torch_save_file& operator=(const torch_save_file&) = delete;

  const std::string& path() const noexcept { return path_; }
  /// The unpickled object; its root is what torch.save was given.
  const unpickled& content() const noexcept { return content_; }

  /// The tensor `object` (a pickle_kind::tensor of content()) as a CPU tensor. Throws
  /// checkpoint_error when its storage's entry is damaged or, for a bool tensor, holds a byte
  /// other than 0 or 1.
  torch::Tensor tensor(const pickle_object& object);

 private:
  torch::Tensor storage_tensor(const storage_reference& storage);

  std::string path_;
  std::string bytes_;
  zip_archive archive_;
  std::string folder_;  ///< the entries' folder, with its trailing '/'
  unpickled content_;
  std::map<std::string, torch::Tensor> storages_;  ///< by key, once read
};

}  // namespace multigrid::reference
