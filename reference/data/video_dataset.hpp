#pragma once
// A list of videos with their labels, read from an annotation file in any of the three formats
// (see annotation_format.hpp). Each sample remembers the file and line it came from, so every
// later message about it can point there.

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "data/annotation_format.hpp"

namespace multigrid::reference {

struct video_sample {
  std::string path;  ///< as opened: the annotation's path joined to the prefix
  int label = 0;
  std::string origin;  ///< "file:line" of the annotation
};

struct annotation_options {
  annotation_format format = annotation_format::automatic;
  /// DATA.PATH_PREFIX, joined in front of relative paths. Empty: relative paths are taken from the
  /// annotation file's folder (PySlowFast would take them from the working directory).
  std::string path_prefix;
  std::string separator = " ";  ///< DATA.PATH_LABEL_SEPARATOR, pyslowfast format only
  /// Class names in label order. If empty, read from label_map_file, else (kinetics) the
  /// alphabetical order of the names in the file, else (numeric labels) none.
  std::vector<std::string> class_names;
  std::string label_map_file;
  /// Malformed lines are errors naming file and line; with this set they are skipped, each with a
  /// warning.
  bool skip_malformed_lines = false;
  std::function<void(const std::string&)> warn;  ///< receives warnings; default: standard error
};

class video_dataset {
 public:
  video_dataset() = default;
  video_dataset(std::vector<video_sample> samples, std::vector<std::string> class_names,
                std::string source = {});

  /// Reads an annotation file. Throws dataset_error naming file and line on malformed input.
  static video_dataset load(const std::string& annotation_file, const annotation_options& options);

  std::int64_t size() const noexcept { return static_cast<std::int64_t>(samples_.size()); }
  bool empty() const noexcept { return samples_.empty(); }
  const video_sample& operator[](std::int64_t index) const {
    return samples_[static_cast<std::size_t>(index)];
  }
  const std::vector<video_sample>& samples() const noexcept { return samples_; }
  /// Class names in label order; empty when the annotations only give numbers.
  const std::vector<std::string>& class_names() const noexcept { return class_names_; }
  /// Number of classes: the names if known, else the largest label plus one.
  int num_classes() const noexcept;
  /// The class's name, or its number when names are unknown.
  std::string class_name(int label) const;
  /// The annotation file the samples were read from.
  const std::string& source() const noexcept { return source_; }

 private:
  std::vector<video_sample> samples_;
  std::vector<std::string> class_names_;
  std::string source_;
};

}  // namespace multigrid::reference
