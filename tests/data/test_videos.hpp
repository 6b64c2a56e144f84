#pragma once
// Test videos written at test time with the project's own generator (no binary fixtures), and a
// private temporary folder per test.

#include <doctest/doctest.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "data/frame_code.hpp"
#include "data/synthetic_dataset.hpp"
#include "data/video_encoder.hpp"
#include "data/video_reader.hpp"

extern "C" {
#include <libavutil/log.h>
}

namespace multigrid::reference::testing {

/// A fresh folder, removed with everything in it when the test ends.
class temporary_folder {
 public:
  temporary_folder() {
    std::string pattern =
        (std::filesystem::temp_directory_path() / "multigrid-data-XXXXXX").string();
    if (mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = pattern;
  }
  ~temporary_folder() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  temporary_folder(const temporary_folder&) = delete;
  temporary_folder& operator=(const temporary_folder&) = delete;

  const std::filesystem::path& path() const noexcept { return path_; }
  std::string file(const std::string& name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

struct frame_code_video {
  int frames = 60;
  double fps = 30;
  int width = 64;
  int height = 48;
  std::string codec = "auto";
  int keyframe_interval = 0;
  int rotation = 0;
  bool faststart = false;
};

/// Writes a video whose frame i shows frame_code_colour(i) (with a dark top band and a light left
/// band in the stored orientation).
inline void write_frame_code_video(const std::string& path, const frame_code_video& video = {}) {
  set_ffmpeg_log_level(AV_LOG_FATAL);
  synthetic_dataset_options encoding;
  encoding.codec = video.codec;
  encoding.keyframe_interval = video.keyframe_interval;
  encoding.rotation = video.rotation;
  encoding.faststart = video.faststart;
  const synthetic_scene scene(scene_content::frame_code, motion_classes().front(), video.width,
                              video.height, video.fps, 0);
  write_synthetic_video(path, scene, video.width, video.height, video.fps, video.frames, encoding);
}

/// The frame index a decoded clip frame shows: the median colour of its pixels (the bands cover
/// less than half of any crop).
inline int decoded_frame_index(const std::uint8_t* clip, int num_frames, int size, int t) {
  const std::size_t plane = static_cast<std::size_t>(num_frames) * size * size;
  double channel[3];
  for (int c = 0; c < 3; ++c) {
    const std::uint8_t* frame = clip + c * plane + static_cast<std::size_t>(t) * size * size;
    std::vector<std::uint8_t> values(frame, frame + static_cast<std::size_t>(size) * size);
    std::nth_element(values.begin(), values.begin() + values.size() / 2, values.end());
    channel[c] = values[values.size() / 2];
  }
  return decode_frame_code(channel[0], channel[1], channel[2]);
}

/// A small motion dataset (64x48, 1 s, x264 ultrafast) in `root`.
inline synthetic_dataset_summary write_small_dataset(const std::string& root, int classes,
                                                     int train_per_class, int val_per_class = 0,
                                                     int test_per_class = 0,
                                                     std::uint64_t seed = 7) {
  set_ffmpeg_log_level(AV_LOG_FATAL);
  synthetic_dataset_options options;
  options.root = root;
  options.classes = classes;
  options.train_per_class = train_per_class;
  options.val_per_class = val_per_class;
  options.test_per_class = test_per_class;
  options.seconds = 1;
  options.preset = has_video_encoder("libx264") ? "ultrafast" : "";
  options.seed = seed;
  options.jobs = 2;
  return make_synthetic_dataset(options);
}

}  // namespace multigrid::reference::testing
