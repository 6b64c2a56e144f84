#include "train/checkpoint_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "train/checkpoint_checksum.hpp"
#include "train/error_text.hpp"

namespace multigrid::reference {
namespace {

// What every checkpoint's header starts with, after the 8-byte length, and where its checksum is.
constexpr std::string_view checksum_prefix = "{\"__metadata__\":{\"checksum\":\"";
constexpr std::size_t checksum_offset = 8 + checksum_prefix.size();
constexpr std::size_t checksum_digits = 16;
constexpr std::string_view unset_checksum = "0000000000000000";
// The first bytes of a checkpoint of the previous format.
constexpr std::string_view legacy_magic{"MGCKPT\0\1", 8};

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
              "safetensors data is little-endian; tensors are copied byte for byte");

struct file_descriptor {
  int fd = -1;
  explicit file_descriptor(int descriptor) : fd(descriptor) {}
  ~file_descriptor() {
    if (fd >= 0) ::close(fd);
  }
  file_descriptor(const file_descriptor&) = delete;
  file_descriptor& operator=(const file_descriptor&) = delete;
};

[[noreturn]] void fail(const std::string& path, const std::string& what) {
  throw checkpoint_error(path + ": " + what);
}

std::string system_error_text() {
  return std::strerror(errno);
}

bool write_all(int fd, const void* data, std::size_t size) {
  const auto* bytes = static_cast<const unsigned char*>(data);
  while (size > 0) {
    const ssize_t written = ::write(fd, bytes, size);
    if (written < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    bytes += written;
    size -= static_cast<std::size_t>(written);
  }
  return true;
}

std::string hex_text(std::uint64_t value) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string text(checksum_digits, '0');
  for (std::size_t i = 0; i < checksum_digits; ++i) {
    text[checksum_digits - 1 - i] = digits[(value >> (4 * i)) & 0xf];
  }
  return text;
}

// The checksum of `bytes` with the checksum field read as zeros.
std::uint64_t checksum_of(std::string_view bytes) {
  checkpoint_checksum sum;
  sum.add(bytes.data(), checksum_offset);
  sum.add(unset_checksum.data(), unset_checksum.size());
  const auto rest = bytes.substr(checksum_offset + checksum_digits);
  sum.add(rest.data(), rest.size());
  return sum.value();
}

// Checks everything but the tensors' content; returns the parsed header.
safetensors_index verify(const std::string& path, std::string_view bytes) {
  if (bytes.substr(0, legacy_magic.size()) == legacy_magic) {
    throw legacy_checkpoint_error(
        path +
        ": a checkpoint of the earlier format (a LibTorch archive), which this version no longer "
        "reads because LibTorch's reader can crash on a crafted file; if you trust the file, "
        "convert it with `multigrid-export-weights --from-legacy " +
        path + " NEW.ckpt`");
  }
  if (bytes.size() < checksum_offset + checksum_digits) {
    fail(path, "not a checkpoint, or truncated: " + std::to_string(bytes.size()) +
                   " bytes, shorter than the header");
  }
  if (bytes.substr(8, checksum_prefix.size()) != checksum_prefix) {
    fail(path,
         "not a multigrid checkpoint (its first bytes are not a safetensors header that "
         "starts with a checksum)");
  }
  // The header length first: it tells truncation apart from changed bytes.
  std::uint64_t header_size = 0;
  for (int i = 0; i < 8; ++i) {
    header_size |= std::uint64_t{static_cast<unsigned char>(bytes[static_cast<std::size_t>(i)])}
                   << (8 * i);
  }
  if (header_size > bytes.size() - 8) {
    fail(path, "truncated or damaged checkpoint: " + std::to_string(bytes.size()) +
                   " bytes, shorter than its header (" + std::to_string(header_size) + " bytes)");
  }
  const auto stored = bytes.substr(checksum_offset, checksum_digits);
  if (stored == unset_checksum) fail(path, "incomplete checkpoint: its checksum was never written");
  if (stored != hex_text(checksum_of(bytes))) {
    // A header that no longer fits the file says more than the checksum: usually truncation.
    try {
      parse_safetensors(bytes);
    } catch (const safetensors_error& error) {
      fail(path, std::string("truncated or damaged checkpoint: ") + error.what());
    }
    fail(path,
         "corrupt checkpoint: its checksum does not match its content (changed or "
         "truncated)");
  }
  try {
    return parse_safetensors(bytes);
  } catch (const safetensors_error& error) {
    fail(path, std::string("malformed checkpoint: ") + error.what());
  }
}

}  // namespace

std::string read_file_bytes(const std::string& path, const std::string& what) {
  file_descriptor file(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (file.fd < 0) fail(path, "cannot open the " + what + ": " + system_error_text());
  struct stat status {};
  if (::fstat(file.fd, &status) != 0) {
    fail(path, "cannot read the " + what + ": " + system_error_text());
  }
  if (!S_ISREG(status.st_mode)) fail(path, "not a regular file");
  std::string bytes(static_cast<std::size_t>(status.st_size), '\0');
  std::size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t got =
        ::pread(file.fd, bytes.data() + done, bytes.size() - done, static_cast<off_t>(done));
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) fail(path, "cannot read the " + what + ": " + system_error_text());
    if (got == 0) fail(path, "the file shrank while it was read");
    done += static_cast<std::size_t>(got);
  }
  return bytes;
}

safetensors_dtype safetensors_dtype_of(torch::ScalarType type) {
  switch (type) {
    case torch::kDouble:
      return safetensors_dtype::F64;
    case torch::kFloat:
      return safetensors_dtype::F32;
    case torch::kHalf:
      return safetensors_dtype::F16;
    case torch::kBFloat16:
      return safetensors_dtype::BF16;
    case torch::kLong:
      return safetensors_dtype::I64;
    case torch::kInt:
      return safetensors_dtype::I32;
    case torch::kShort:
      return safetensors_dtype::I16;
    case torch::kChar:
      return safetensors_dtype::I8;
    case torch::kByte:
      return safetensors_dtype::U8;
    case torch::kBool:
      return safetensors_dtype::BOOL;
    default:
      break;
  }
  throw std::invalid_argument(std::string("no safetensors dtype for ") + c10::toString(type));
}

torch::ScalarType scalar_type_of(safetensors_dtype dtype) {
  switch (dtype) {
    case safetensors_dtype::F64:
      return torch::kDouble;
    case safetensors_dtype::F32:
      return torch::kFloat;
    case safetensors_dtype::F16:
      return torch::kHalf;
    case safetensors_dtype::BF16:
      return torch::kBFloat16;
    case safetensors_dtype::I64:
      return torch::kLong;
    case safetensors_dtype::I32:
      return torch::kInt;
    case safetensors_dtype::I16:
      return torch::kShort;
    case safetensors_dtype::I8:
      return torch::kChar;
    case safetensors_dtype::U8:
      return torch::kByte;
    case safetensors_dtype::BOOL:
      return torch::kBool;
  }
  throw std::invalid_argument("unknown safetensors dtype");
}

std::string temporary_checkpoint_path(const std::string& path) {
  return path + ".tmp." + std::to_string(::getpid());
}

void write_checkpoint_file(const std::string& path, const checkpoint_metadata& metadata,
                           const named_tensors& tensors) {
  std::vector<safetensors_layout_entry> layout;
  std::string header;
  try {
    for (const auto& [name, tensor] : tensors) {
      layout.push_back({name, safetensors_dtype_of(tensor.scalar_type()), tensor.sizes().vec()});
    }
    checkpoint_metadata entries{{"checksum", std::string(unset_checksum)}};
    entries.insert(entries.end(), metadata.begin(), metadata.end());
    header = safetensors_header(layout, entries);
  } catch (const std::exception& error) {
    fail(path, "cannot assemble the checkpoint: " + error_text(error));
  }

  const std::string temporary = temporary_checkpoint_path(path);
  file_descriptor file(::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  if (file.fd < 0) fail(temporary, "cannot create the checkpoint: " + system_error_text());
  auto abandon = [&](const std::string& what) {
    ::unlink(temporary.c_str());
    fail(path, what);
  };
  checkpoint_checksum sum;
  auto put = [&](const void* data, std::size_t size) {
    if (!write_all(file.fd, data, size)) {
      abandon("cannot write the checkpoint: " + system_error_text());
    }
    sum.add(static_cast<const unsigned char*>(data), size);
  };
  put(header.data(), header.size());
  for (const auto& [name, tensor] : tensors) {
    torch::Tensor bytes;
    try {
      bytes = tensor.detach().to(torch::kCPU).contiguous();
    } catch (const std::exception& error) {
      abandon("cannot copy tensor `" + name + "` to the CPU: " + error_text(error));
    }
    put(bytes.data_ptr(), bytes.nbytes());
  }
  const auto digits = hex_text(sum.value());
  if (::pwrite(file.fd, digits.data(), digits.size(), checksum_offset) !=
      static_cast<ssize_t>(digits.size())) {
    abandon("cannot write the checkpoint's checksum: " + system_error_text());
  }
  if (::fsync(file.fd) != 0) abandon("cannot flush the checkpoint to disk: " + system_error_text());
  if (::close(file.fd) != 0) {
    file.fd = -1;
    abandon("cannot close the checkpoint: " + system_error_text());
  }
  file.fd = -1;
  if (::rename(temporary.c_str(), path.c_str()) != 0) {
    abandon("cannot move the checkpoint into place: " + system_error_text());
  }
  const auto directory = std::filesystem::path(path).parent_path();
  const int folder =
      ::open(directory.empty() ? "." : directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (folder >= 0) {
    ::fsync(folder);
    ::close(folder);
  }
}

checkpoint_file::checkpoint_file(const std::string& path)
    : checkpoint_file(path, read_file_bytes(path)) {}

checkpoint_file::checkpoint_file(std::string path, std::string bytes)
    : path_(std::move(path)), bytes_(std::move(bytes)), index_(verify(path_, bytes_)) {}

std::map<std::string, torch::Tensor> checkpoint_file::tensors(const std::string& prefix) const {
  std::map<std::string, torch::Tensor> out;
  for (const auto& entry : index_.tensors) {
    if (entry.name.compare(0, prefix.size(), prefix) != 0) continue;
    const auto data = tensor_bytes(bytes_, index_, entry);
    if (entry.dtype == safetensors_dtype::BOOL) {
      for (const char byte : data) {
        if (byte != 0 && byte != 1) {
          fail(path_, "tensor `" + entry.name + "` is BOOL but holds a byte other than 0 or 1");
        }
      }
    }
    auto tensor = torch::empty(entry.shape, torch::TensorOptions(scalar_type_of(entry.dtype)));
    if (!data.empty()) std::memcpy(tensor.data_ptr(), data.data(), data.size());
    out.emplace(entry.name.substr(prefix.size()), std::move(tensor));
  }
  return out;
}

void verify_checkpoint_file(const std::string& path) {
  verify(path, read_file_bytes(path));
}

std::string seal_checkpoint_bytes(std::string bytes) {
  if (bytes.size() < checksum_offset + checksum_digits) return bytes;
  bytes.replace(checksum_offset, checksum_digits, hex_text(checksum_of(bytes)));
  return bytes;
}

}  // namespace multigrid::reference
