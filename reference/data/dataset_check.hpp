#pragma once
// Opens and decodes every video of a dataset once, through the loader's own reader and frame
// converter, and reports what a user should know before training on it: videos per class,
// durations, frame rates, sizes, codecs, and every broken file with its reason.

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "data/video_dataset.hpp"
#include "data/video_info.hpp"
#include "data/video_reader.hpp"

namespace multigrid::reference {

struct video_check {
  std::int64_t index = 0;
  bool usable = false;
  std::string reason;  ///< why not, when not usable
  video_info info;
  std::int64_t frames_decoded = 0;
};

struct dataset_check_options {
  int jobs = 1;
  video_reader_options reader;
  /// A video that decodes fewer frames than this share of what its header announces is
  /// truncated: clips from its missing part would fail.
  double min_decoded_share = 0.9;
  std::function<void(const video_check&)> progress;  ///< called as each video is done
};

struct dataset_check_report {
  std::vector<video_check> videos;  ///< in dataset order

  std::int64_t usable() const;
  std::int64_t broken() const;
  /// Counts per class, durations, frame rates, sizes, codecs and the broken files.
  std::string summary(const video_dataset& dataset) const;
};

/// Checks one video.
video_check check_video(const std::string& path, const dataset_check_options& options);

dataset_check_report check_dataset(const video_dataset& dataset,
                                   const dataset_check_options& options);

}  // namespace multigrid::reference
