#include "data/broken_video_log.hpp"

#include <cstdio>
#include <sstream>

#include "config/config_keys.hpp"
#include "data/dataset_error.hpp"

namespace multigrid::reference {
namespace {

std::string share_text(double share) {
  std::ostringstream text;
  text << share;
  return text.str();
}

}  // namespace

void broken_video_log::tried(std::int64_t index) {
  std::lock_guard<std::mutex> lock(mutex_);
  tried_.insert(index);
}

void broken_video_log::failed(const broken_video& video, bool whole_file) {
  std::string message;
  bool over_limit = false;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    ++failures_;
    tried_.insert(video.index);
    const auto [entry, first_time] = broken_index_.emplace(video.index, whole_file);
    if (!first_time) {
      entry->second = entry->second || whole_file;
    } else {
      broken_.push_back(video);
      message = "broken video skipped: " + video.path + ": " + video.reason +
                (video.origin.empty() ? std::string() : " (listed at " + video.origin + ")");
    }
    const auto tried = static_cast<std::int64_t>(tried_.size());
    const auto broken = static_cast<std::int64_t>(broken_.size());
    over_limit = tried >= policy_.minimum_tried &&
                 static_cast<double>(broken) > policy_.max_share * static_cast<double>(tried);
    if (over_limit) {
      message.clear();
      throw dataset_error(std::to_string(broken) + " of the " + std::to_string(tried) +
                          " videos tried cannot be decoded, more than the allowed share of " +
                          share_text(policy_.max_share) + " (" +
                          keys::data_max_failure_share.name() + "); check " +
                          keys::data_path_prefix.name() +
                          " and the annotation file. "
                          "Examples:\n" +
                          examples_locked(5));
    }
  }
  if (!message.empty()) {
    if (policy_.report) {
      policy_.report(message);
    } else {
      std::fprintf(stderr, "%s\n", message.c_str());
    }
  }
}

bool broken_video_log::known_unopenable(std::int64_t index) const {
  std::lock_guard<std::mutex> lock(mutex_);
  const auto found = broken_index_.find(index);
  return found != broken_index_.end() && found->second;
}

std::int64_t broken_video_log::failures() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return failures_;
}

std::int64_t broken_video_log::broken_videos() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return static_cast<std::int64_t>(broken_.size());
}

std::int64_t broken_video_log::videos_tried() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return static_cast<std::int64_t>(tried_.size());
}

std::vector<broken_video> broken_video_log::broken() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return broken_;
}

std::string broken_video_log::examples(std::size_t count) const {
  std::lock_guard<std::mutex> lock(mutex_);
  return examples_locked(count);
}

std::string broken_video_log::examples_locked(std::size_t count) const {
  std::string text;
  for (std::size_t i = 0; i < broken_.size() && i < count; ++i) {
    const auto& video = broken_[i];
    text += "  " + video.path + ": " + video.reason +
            (video.origin.empty() ? std::string() : " (" + video.origin + ")") + "\n";
  }
  return text;
}

}  // namespace multigrid::reference
