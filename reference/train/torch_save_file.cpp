#include "train/torch_save_file.hpp"

#include <cstring>
#include <utility>

#include "train/checkpoint_file.hpp"
#include "train/printable_text.hpp"

namespace multigrid::reference {
namespace {

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
              "torch.save writes storages little-endian; they are copied byte for byte");

[[noreturn]] void fail(const std::string& path, const std::string& what) {
  throw checkpoint_error(path + ": " + what);
}

zip_archive open_archive(const std::string& path, std::string_view bytes) {
  if (bytes.substr(0, legacy_torch_save_magic.size()) == legacy_torch_save_magic) {
    fail(path,
         "a torch.save file of the format before PyTorch 1.6, which this reader does not take; "
         "rewrite it with a later PyTorch: python3 -c \"import sys, torch; "
         "torch.save(torch.load(sys.argv[1], weights_only=True), sys.argv[2])\" OLD NEW");
  }
  try {
    return zip_archive(bytes);
  } catch (const zip_archive_error& error) {
    fail(path, std::string("not a readable torch.save file: ") + error.what());
  }
}

torch::ScalarType scalar_type(storage_dtype dtype) {
  switch (dtype) {
    case storage_dtype::float64:
      return torch::kDouble;
    case storage_dtype::float32:
      return torch::kFloat;
    case storage_dtype::float16:
      return torch::kHalf;
    case storage_dtype::bfloat16:
      return torch::kBFloat16;
    case storage_dtype::int64:
      return torch::kLong;
    case storage_dtype::int32:
      return torch::kInt;
    case storage_dtype::int16:
      return torch::kShort;
    case storage_dtype::int8:
      return torch::kChar;
    case storage_dtype::uint8:
      return torch::kByte;
    case storage_dtype::boolean:
      return torch::kBool;
  }
  return torch::kFloat;  // unreachable: every enumerator is listed
}

}  // namespace

torch_save_file::torch_save_file(const std::string& path)
    : torch_save_file(path, read_file_bytes(path, "weights file")) {}

torch_save_file::torch_save_file(std::string path, std::string bytes)
    : path_(std::move(path)), bytes_(std::move(bytes)), archive_(open_archive(path_, bytes_)) {
  const auto data = [&](const zip_entry& entry) {
    try {
      return archive_.data(entry);
    } catch (const zip_archive_error& error) {
      fail(path_, error.what());
    }
  };
  // As PyTorch's reader does, the first entry's folder is the archive's.
  const auto& entries = archive_.entries();
  if (entries.empty()) fail(path_, "not a torch.save file: the zip archive is empty");
  const auto slash = entries.front().name.find('/');
  if (slash == std::string::npos) {
    fail(path_, "not a torch.save file: its first entry `" + printable_text(entries.front().name) +
                    "` is not in a folder");
  }
  folder_ = entries.front().name.substr(0, slash + 1);
  const auto shown_folder = printable_text(folder_);
  if (const auto* order = archive_.find(folder_ + "byteorder")) {
    const auto text = data(*order);
    if (text == "big") {
      fail(path_, "its tensors are stored big-endian, which this reader does not convert");
    }
    if (text != "little") {
      fail(path_, "`" + shown_folder + "byteorder` is `" + printable_text(text) +
                      "`, not `little` or `big`");
    }
  }
  const auto* pickle = archive_.find(folder_ + "data.pkl");
  if (pickle == nullptr) fail(path_, "not a torch.save file: no `" + shown_folder + "data.pkl`");
  try {
    content_ = unpickle(data(*pickle));
  } catch (const unpickling_error& error) {
    fail(path_, shown_folder + "data.pkl: " + error.what());
  }

  // Every storage, used or not, must be there in the size it claims; each key means one storage.
  std::map<std::string, const storage_reference*> by_key;
  for (const auto& storage : content_.storages) {
    const auto shown = "storage `" + printable_text(storage.key) + "`";
    const auto [known, first] = by_key.emplace(storage.key, &storage);
    if (!first) {
      if (known->second->dtype != storage.dtype || known->second->numel != storage.numel) {
        fail(path_, shown + " is named as " + std::to_string(known->second->numel) + " of " +
                        storage_type_name(known->second->dtype) + " and as " +
                        std::to_string(storage.numel) + " of " + storage_type_name(storage.dtype));
      }
      continue;
    }
    const auto* entry = archive_.find(folder_ + "data/" + storage.key);
    if (entry == nullptr) {
      fail(path_,
           shown + " has no entry `" + shown_folder + "data/" + printable_text(storage.key) + "`");
    }
    // The unpickler checked that this product fits in int64.
    const auto size = static_cast<std::uint64_t>(storage.numel) *
                      std::uint64_t{storage_element_size(storage.dtype)};
    if (entry->size != size) {
      fail(path_, shown + ": its entry holds " + std::to_string(entry->size) + " bytes, but " +
                      std::to_string(storage.numel) + " elements of " +
                      storage_type_name(storage.dtype) + " take " + std::to_string(size));
    }
  }
}

torch::Tensor torch_save_file::tensor(const pickle_object& object) {
  if (object.kind != pickle_kind::tensor) {
    fail(path_,
         std::string("asked for a tensor, but the value is ") + pickle_kind_name(object.kind));
  }
  const auto& layout = content_.tensors.at(static_cast<std::size_t>(object.integer));
  // The unpickler checked that every element the layout reaches lies inside the storage.
  return storage_tensor(content_.storages.at(layout.storage))
      .as_strided(content_.integers(layout.sizes), content_.integers(layout.strides),
                  layout.offset);
}

torch::Tensor torch_save_file::storage_tensor(const storage_reference& storage) {
  const auto known = storages_.find(storage.key);
  if (known != storages_.end()) return known->second;
  const auto* entry = archive_.find(folder_ + "data/" + storage.key);  // checked to be there
  std::string_view bytes;
  try {
    bytes = archive_.data(*entry);
  } catch (const zip_archive_error& error) {
    fail(path_, error.what());
  }
  if (storage.dtype == storage_dtype::boolean) {
    for (const char byte : bytes) {
      if (byte != 0 && byte != 1) {
        fail(path_, "storage `" + printable_text(storage.key) +
                        "` is BoolStorage but holds a byte other than 0 or 1");
      }
    }
  }
  auto tensor = torch::empty({storage.numel}, torch::TensorOptions(scalar_type(storage.dtype)));
  if (!bytes.empty()) std::memcpy(tensor.data_ptr(), bytes.data(), bytes.size());
  storages_.emplace(storage.key, tensor);
  return tensor;
}

}  // namespace multigrid::reference
