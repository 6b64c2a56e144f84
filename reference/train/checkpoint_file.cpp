#include "train/checkpoint_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <memory>
#include <vector>

#include "train/error_text.hpp"

namespace multigrid::reference {
namespace {

constexpr char magic[8] = {'M', 'G', 'C', 'K', 'P', 'T', '\0', '\1'};

// FNV-1a over 64-bit little-endian words in four interleaved lanes (four independent multiply
// chains run in parallel; one chain would leave the CPU waiting on each multiply). Any change
// confined to one word always changes the result: xor and multiplication by an odd number are
// bijective, in each lane and in the final fold of the lanes.
class checksum {
 public:
  void add(const unsigned char* data, std::size_t size) {
    length_ += size;
    while (pending_size_ > 0 && size > 0) {  // complete a block begun by the previous call
      pending_[pending_size_++] = *data++;
      --size;
      if (pending_size_ == block) {
        mix_block(pending_.data());
        pending_size_ = 0;
      }
    }
    for (; size >= block; data += block, size -= block) mix_block(data);
    for (; size > 0; --size) pending_[pending_size_++] = *data++;
  }

  std::uint64_t value() const {
    std::uint64_t hash = offset_basis;
    for (auto lane : lanes_) hash = (hash ^ lane) * prime;
    for (std::size_t i = 0; i < pending_size_; ++i) hash = (hash ^ pending_[i]) * prime;
    return (hash ^ length_) * prime;
  }

 private:
  static constexpr std::uint64_t prime = 0x100000001b3ULL;
  static constexpr std::uint64_t offset_basis = 0xcbf29ce484222325ULL;
  static constexpr std::size_t block = 32;  // one word per lane

  static std::uint64_t load(const unsigned char* bytes) {
    std::uint64_t word = 0;
    for (int i = 0; i < 8; ++i) word |= std::uint64_t{bytes[i]} << (8 * i);
    return word;
  }
  void mix_block(const unsigned char* bytes) {
    for (std::size_t lane = 0; lane < 4; ++lane) {
      lanes_[lane] = (lanes_[lane] ^ load(bytes + 8 * lane)) * prime;
    }
  }

  std::array<std::uint64_t, 4> lanes_{offset_basis, offset_basis + 1, offset_basis + 2,
                                      offset_basis + 3};
  std::uint64_t length_ = 0;
  std::array<unsigned char, block> pending_{};
  std::size_t pending_size_ = 0;
};

void put_u64(unsigned char* out, std::uint64_t value) {
  for (int i = 0; i < 8; ++i) out[i] = static_cast<unsigned char>(value >> (8 * i));
}

std::uint64_t get_u64(const unsigned char* in) {
  std::uint64_t value = 0;
  for (int i = 0; i < 8; ++i) value |= std::uint64_t{in[i]} << (8 * i);
  return value;
}

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

struct header {
  std::uint64_t archive_size = 0;
  std::uint64_t archive_checksum = 0;
};

// Reads and checks the header and the archive's bytes; returns the open file.
std::shared_ptr<file_descriptor> open_verified(const std::string& path, header& parsed) {
  auto file = std::make_shared<file_descriptor>(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (file->fd < 0) fail(path, "cannot open the checkpoint: " + system_error_text());
  struct stat status {};
  if (::fstat(file->fd, &status) != 0)
    fail(path, "cannot read the checkpoint: " + system_error_text());
  const auto file_size = static_cast<std::uint64_t>(status.st_size);
  unsigned char bytes[checkpoint_header_size];
  if (file_size < checkpoint_header_size || ::pread(file->fd, bytes, checkpoint_header_size, 0) !=
                                                static_cast<ssize_t>(checkpoint_header_size)) {
    fail(path, "not a checkpoint, or truncated: " + std::to_string(file_size) +
                   " bytes, shorter than the header");
  }
  if (std::memcmp(bytes, magic, sizeof magic) != 0) {
    fail(path, "not a multigrid checkpoint (unknown header)");
  }
  parsed.archive_size = get_u64(bytes + 8);
  parsed.archive_checksum = get_u64(bytes + 16);
  if (parsed.archive_size == 0) fail(path, "incomplete checkpoint: the header was never finished");
  const std::uint64_t expected = checkpoint_header_size + parsed.archive_size;
  if (file_size != expected) {
    fail(path, "truncated or damaged checkpoint: " + std::to_string(file_size) +
                   " bytes, expected " + std::to_string(expected));
  }
  checksum sum;
  std::vector<unsigned char> buffer(std::size_t{8} << 20);
  std::uint64_t offset = checkpoint_header_size;
  while (offset < file_size) {
    const auto wanted =
        static_cast<std::size_t>(std::min<std::uint64_t>(buffer.size(), file_size - offset));
    const ssize_t got = ::pread(file->fd, buffer.data(), wanted, static_cast<off_t>(offset));
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0)
      fail(path,
           "cannot read the checkpoint: " + (got < 0 ? system_error_text() : "unexpected end"));
    sum.add(buffer.data(), static_cast<std::size_t>(got));
    offset += static_cast<std::uint64_t>(got);
  }
  if (sum.value() != parsed.archive_checksum) {
    fail(path, "corrupt checkpoint: its checksum does not match its content");
  }
  return file;
}

void sync_directory_of(const std::string& path) {
  const auto directory = std::filesystem::path(path).parent_path();
  const int fd =
      ::open(directory.empty() ? "." : directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd >= 0) {
    ::fsync(fd);
    ::close(fd);
  }
}

}  // namespace

std::string temporary_checkpoint_path(const std::string& path) {
  return path + ".tmp." + std::to_string(::getpid());
}

void write_archive_atomically(torch::serialize::OutputArchive& archive, const std::string& path) {
  const std::string temporary = temporary_checkpoint_path(path);
  file_descriptor file(::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  if (file.fd < 0) fail(temporary, "cannot create the checkpoint: " + system_error_text());
  auto abandon = [&](const std::string& what) {
    ::unlink(temporary.c_str());
    fail(path, what);
  };

  // A zeroed header first: a file whose header was never finished reads as incomplete.
  unsigned char bytes[checkpoint_header_size] = {};
  std::memcpy(bytes, magic, sizeof magic);
  if (!write_all(file.fd, bytes, sizeof bytes))
    abandon("cannot write the checkpoint: " + system_error_text());

  checksum sum;
  std::uint64_t archive_size = 0;
  int write_errno = 0;
  try {
    // After a failed write (a full disk) the rest is discarded but reported as written: a short
    // count makes LibTorch's zip writer throw from its destructor, which ends the process.
    archive.save_to([&](const void* data, std::size_t size) -> std::size_t {
      if (write_errno != 0) return size;
      if (!write_all(file.fd, data, size)) {
        write_errno = errno;
        return size;
      }
      sum.add(static_cast<const unsigned char*>(data), size);
      archive_size += size;
      return size;
    });
  } catch (const std::exception& error) {
    errno = write_errno;  // the failed write, when there was one, is the cause to name
    abandon("cannot write the checkpoint: " +
            (write_errno != 0 ? system_error_text() : error_text(error)));
  }
  if (write_errno != 0) {
    errno = write_errno;
    abandon("cannot write the checkpoint: " + system_error_text());
  }
  put_u64(bytes + 8, archive_size);
  put_u64(bytes + 16, sum.value());
  if (::pwrite(file.fd, bytes, sizeof bytes, 0) != static_cast<ssize_t>(sizeof bytes)) {
    abandon("cannot write the checkpoint header: " + system_error_text());
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
  sync_directory_of(path);
}

void verify_checkpoint_file(const std::string& path) {
  header parsed;
  open_verified(path, parsed);
}

torch::serialize::InputArchive read_archive(const std::string& path) {
  header parsed;
  auto file = open_verified(path, parsed);
  torch::serialize::InputArchive archive;
  const std::uint64_t size = parsed.archive_size;
  try {
    archive.load_from(
        [file, size](std::uint64_t position, void* buffer, std::size_t count) -> std::size_t {
          if (position >= size) return 0;
          count = static_cast<std::size_t>(std::min<std::uint64_t>(count, size - position));
          std::size_t done = 0;
          while (done < count) {
            const ssize_t got =
                ::pread(file->fd, static_cast<char*>(buffer) + done, count - done,
                        static_cast<off_t>(checkpoint_header_size + position + done));
            if (got < 0 && errno == EINTR) continue;
            if (got <= 0) break;
            done += static_cast<std::size_t>(got);
          }
          return done;
        },
        [size]() -> std::size_t { return static_cast<std::size_t>(size); },
        torch::Device(torch::kCPU));
  } catch (const std::exception& error) {
    fail(path, "cannot parse the checkpoint: " + error_text(error));
  }
  return archive;
}

}  // namespace multigrid::reference
