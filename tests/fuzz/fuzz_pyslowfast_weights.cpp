// Fuzz target: the bytes of a PySlowFast `.pyth` weights file, as TRAIN.CHECKPOINT_FILE_PATH
// hands it to the trainer. Every input must end in weights or checkpoint_error; anything else (a
// crash, a sanitizer report, another exception, an allocation beyond what the input's size
// justifies) is a finding.
//
// The first byte chooses how the rest is read: odd, every entry's CRC-32 in the central
// directory is set to match its bytes first (so that mutations of the pickle and the storages
// reach the parsers behind the check); even, the rest is read as it is.
#include <cstddef>
#include <cstdint>
#include <string>

#include "train/checkpoint_file.hpp"
#include "train/pyslowfast_weights.hpp"
#include "train/zip_archive.hpp"

using namespace multigrid::reference;

namespace {

std::string with_matching_crcs(std::string bytes) {
  try {
    const zip_archive archive(bytes);
    for (const auto& entry : archive.entries()) {
      const auto crc = zip_crc32(std::string_view(bytes).substr(entry.data_offset, entry.size));
      for (int i = 0; i < 4; ++i) {
        bytes[entry.record_offset + 16 + static_cast<unsigned>(i)] =
            static_cast<char>((crc >> (8 * i)) & 0xff);
      }
    }
  } catch (const zip_archive_error&) {
  }
  return bytes;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  std::string bytes(reinterpret_cast<const char*>(data) + 1, size - 1);
  if (data[0] & 1) bytes = with_matching_crcs(std::move(bytes));
  try {
    const auto weights = read_pyslowfast_weights("fuzz.pyth", std::move(bytes));
    // Read every element, as loading into a model does; a model's tensors are small, and its
    // shapes bound what loading copies, so larger views are only measured.
    for (const auto& [name, tensor] : weights) {
      if (tensor.numel() <= 65536) tensor.clone();
    }
  } catch (const checkpoint_error&) {
  }
  return 0;
}
