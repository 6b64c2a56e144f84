#pragma once
// The record of videos that could not be decoded, shared by a loader's worker threads: each
// broken file is reported once, with its path and the reason, and counted; when more than the
// allowed share of the videos tried are broken (a wrong DATA.PATH_PREFIX, a half-copied dataset)
// the loader stops with an error that names examples, instead of training on nothing.

#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace multigrid::reference {

struct broken_video {
  std::int64_t index = 0;  ///< in the dataset
  std::string path;
  std::string reason;
  std::string origin;  ///< annotation file and line
};

struct broken_video_policy {
  double max_share = 0.1;           ///< DATA.MAX_FAILURE_SHARE of the distinct videos tried
  std::int64_t minimum_tried = 20;  ///< the share is judged once this many videos were tried
  /// Receives one line per broken video; default: standard error.
  std::function<void(const std::string&)> report;
};

class broken_video_log {
 public:
  explicit broken_video_log(broken_video_policy policy = {}) : policy_(std::move(policy)) {}

  /// Notes that a video was tried (successfully or not).
  void tried(std::int64_t index);
  /// Records a failure: reports it the first time, then throws dataset_error when the share of
  /// broken videos is over the limit.
  void failed(const broken_video& video, bool whole_file);
  /// Whether every clip of this video is known to fail (it could not be opened).
  bool known_unopenable(std::int64_t index) const;

  std::int64_t failures() const;             ///< failed attempts, repeats included
  std::int64_t broken_videos() const;        ///< distinct videos
  std::int64_t videos_tried() const;         ///< distinct videos
  std::vector<broken_video> broken() const;  ///< in the order they were found
  /// "path: reason (origin)" of up to `count` broken videos, one per line.
  std::string examples(std::size_t count) const;

 private:
  std::string examples_locked(std::size_t count) const;

  broken_video_policy policy_;
  mutable std::mutex mutex_;
  std::unordered_set<std::int64_t> tried_;
  std::unordered_map<std::int64_t, bool> broken_index_;  ///< index -> unopenable
  std::vector<broken_video> broken_;
  std::int64_t failures_ = 0;
};

}  // namespace multigrid::reference
