// Fuzz target: an annotation file and a label map, as the loader and multigrid-check-dataset read
// them (video_dataset::load in each format, read_label_map). Every input must end in a dataset or a
// dataset_error; anything else (a crash, a sanitizer report, another exception) is a finding.
//
// Input: the first byte chooses the options (bits 0-1 the format: auto, pyslowfast, mmaction2,
// kinetics; bits 2-3 DATA.PATH_LABEL_SEPARATOR: space, comma, tab, "::"; bit 4 skip malformed
// lines; bit 5 a DATA.PATH_PREFIX); the rest is the annotation file up to the first NUL byte and,
// after it, the label map file. The parsers read files, so both are written to a private folder.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "data/dataset_error.hpp"
#include "data/label_map.hpp"
#include "data/video_dataset.hpp"

using namespace multigrid::reference;

namespace {

namespace fs = std::filesystem;

const fs::path& folder() {
  static const fs::path path = [] {
    const auto made =
        fs::temp_directory_path() / ("multigrid_fuzz_annotation." + std::to_string(getpid()));
    fs::create_directories(made);
    std::atexit([] {
      std::error_code ignored;
      fs::remove_all(folder(), ignored);
    });
    return made;
  }();
  return path;
}

std::string write(const std::string& name, const std::string& text) {
  const auto path = folder() / name;
  // A new file each time: ext4 flushes a file that is truncated and rewritten when it is closed,
  // which made every input a hundred times slower.
  std::error_code ignored;
  fs::remove(path, ignored);
  std::ofstream(path, std::ios::binary) << text;
  return path.string();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  static const annotation_format formats[] = {
      annotation_format::automatic, annotation_format::pyslowfast, annotation_format::mmaction2,
      annotation_format::kinetics};
  static const char* const separators[] = {" ", ",", "\t", "::"};
  const std::string input(reinterpret_cast<const char*>(data) + 1, size - 1);
  const auto end_of_annotations = input.find('\0');

  annotation_options options;
  options.format = formats[data[0] & 3];
  options.separator = separators[(data[0] >> 2) & 3];
  options.skip_malformed_lines = (data[0] >> 4) & 1;
  if ((data[0] >> 5) & 1) options.path_prefix = "/data/videos";
  options.warn = [](const std::string&) {};
  const auto annotations = write("train.csv", input.substr(0, end_of_annotations));
  if (end_of_annotations != std::string::npos) {
    options.label_map_file = write("label_map.txt", input.substr(end_of_annotations + 1));
    try {
      read_label_map(options.label_map_file);
    } catch (const dataset_error&) {
    }
  }
  try {
    video_dataset::load(annotations, options);
  } catch (const dataset_error&) {
  }
  return 0;
}
