#include "data/synthetic_dataset.hpp"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <mutex>
#include <stdexcept>
#include <thread>

#include "data/label_map.hpp"
#include "data/parallel_tasks.hpp"
#include "data/random_stream.hpp"
#include "data/video_encoder.hpp"
#include "report/atomic_file.hpp"

namespace multigrid::reference {
namespace {

namespace fs = std::filesystem;

struct planned_video {
  std::string split;
  int label = 0;   ///< alphabetical index
  int motion = 0;  ///< index into motion_classes()
  std::string youtube_id;
  int time_start = 0;
  int time_end = 0;
  std::uint64_t seed = 0;

  std::string relative_path(const std::vector<std::string>& names) const {
    char times[32];
    std::snprintf(times, sizeof times, "_%06d_%06d.mp4", time_start, time_end);
    // Folders use underscores for spaces: PySlowFast's `path label` lines split on spaces.
    std::string folder = names[static_cast<std::size_t>(label)];
    std::replace(folder.begin(), folder.end(), ' ', '_');
    return folder + "/" + youtube_id + times;
  }
};

std::string youtube_like_id(random_stream& random) {
  static constexpr char alphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string id;
  for (int i = 0; i < 11; ++i) id += alphabet[random.integer(0, 63)];
  return id;
}

/// A frame rate as a fraction: 30 -> 30/1, 29.97 -> 30000/1001.
AVRational frame_rate_fraction(double fps) {
  if (std::fabs(fps * 1001 / 1000 - std::round(fps * 1001 / 1000)) < 1e-6 &&
      std::fabs(fps - std::round(fps)) > 1e-6) {
    return {static_cast<int>(std::lround(fps * 1001)), 1001};
  }
  return av_d2q(fps, 1 << 20);
}

std::string csv_field(const std::string& text) {
  if (text.find_first_of(",\"") == std::string::npos) return text;
  std::string quoted = "\"";
  for (const char c : text) quoted += c == '"' ? std::string("\"\"") : std::string(1, c);
  return quoted + "\"";
}

}  // namespace

void check_synthetic_dataset_options(const synthetic_dataset_options& options) {
  const auto fail = [](const std::string& message) { throw std::invalid_argument(message); };
  if (options.root.empty()) fail("the output folder is not set");
  const int available = static_cast<int>(motion_classes().size());
  if (!options.class_list.empty()) {
    std::vector<int> seen;
    for (const auto& name : options.class_list) {
      const int index = motion_class_index(name);
      if (std::find(seen.begin(), seen.end(), index) != seen.end()) {
        fail("the class `" + name + "` is listed twice");
      }
      seen.push_back(index);
    }
  } else if (options.classes < 1 || options.classes > available) {
    fail("--classes must be between 1 and " + std::to_string(available) + ", not " +
         std::to_string(options.classes));
  }
  check_scene_style(options.style);
  if (options.train_per_class < 0 || options.val_per_class < 0 || options.test_per_class < 0 ||
      options.train_per_class + options.val_per_class + options.test_per_class == 0) {
    fail("the videos per class must not be negative, and some must be asked for");
  }
  if (options.width < 8 || options.height < 8) fail("the frame size must be at least 8x8");
  if (!(options.fps > 0) || options.fps > 1000) fail("the frame rate must be in (0, 1000]");
  if (!(options.seconds > 0)) fail("the duration must be positive");
  if (options.jobs < 1) fail("--jobs must be positive");
  if (options.rotation % 90 != 0) fail("the rotation must be a multiple of 90 degrees");
}

void write_synthetic_video(const std::string& path, const synthetic_scene& scene, int width,
                           int height, double fps, int frames,
                           const synthetic_dataset_options& encoding) {
  const AVRational rate = frame_rate_fraction(fps);
  encoder_settings settings;
  settings.width = width;
  settings.height = height;
  settings.time_base_num = rate.den;
  settings.time_base_den = rate.num;
  settings.frame_rate_num = rate.num;
  settings.frame_rate_den = rate.den;
  settings.codec = encoding.codec;
  settings.keyframe_interval = encoding.keyframe_interval;
  settings.preset = encoding.preset;
  settings.quality = encoding.quality;
  settings.rotation = encoding.rotation;
  settings.faststart = encoding.faststart;
  const std::string temporary = path + ".partial";
  {
    video_encoder encoder(temporary, settings, path);
    const int stride = width * 3;
    // swscale's SIMD code reads up to 16 bytes past the last row: pad the picture.
    std::vector<std::uint8_t> rgb(
        static_cast<std::size_t>(stride) * static_cast<std::size_t>(height) + 64);
    for (int i = 0; i < frames; ++i) {
      scene.render(i, rgb.data(), stride);
      encoder.write_rgb(rgb.data(), stride, i);
    }
    encoder.finish();
  }
  std::error_code error;
  fs::rename(temporary, path, error);
  if (error)
    throw std::runtime_error(path + ": cannot rename the finished video: " + error.message());
}

synthetic_dataset_summary make_synthetic_dataset(const synthetic_dataset_options& options) {
  check_synthetic_dataset_options(options);
  synthetic_dataset_summary summary;
  summary.codec =
      options.codec == "auto" || options.codec.empty() ? default_video_encoder() : options.codec;
  if (!has_video_encoder(summary.codec)) {
    throw std::invalid_argument("this FFmpeg build has no `" + summary.codec + "` encoder");
  }

  // Kinetics numbers its classes in alphabetical order.
  std::vector<int> motions;
  if (options.class_list.empty()) {
    for (int i = 0; i < options.classes; ++i) motions.push_back(i);
  } else {
    for (const auto& name : options.class_list) motions.push_back(motion_class_index(name));
  }
  const int classes = static_cast<int>(motions.size());
  std::sort(motions.begin(), motions.end(), [](int a, int b) {
    return motion_classes()[static_cast<std::size_t>(a)].name <
           motion_classes()[static_cast<std::size_t>(b)].name;
  });
  for (const int m : motions)
    summary.class_names.push_back(motion_classes()[static_cast<std::size_t>(m)].name);

  std::vector<planned_video> videos;
  const std::pair<const char*, int> splits[] = {{"train", options.train_per_class},
                                                {"val", options.val_per_class},
                                                {"test", options.test_per_class}};
  std::uint64_t split_number = 0;
  for (const auto& [split, count] : splits) {
    ++split_number;
    for (int i = 0; i < count; ++i) {
      for (int label = 0; label < classes; ++label) {
        planned_video video;
        video.split = split;
        video.label = label;
        video.motion = motions[static_cast<std::size_t>(label)];
        // The seed depends on the video's place, not on the class's: appearances are shared.
        video.seed = combine_seed({options.seed, split_number, static_cast<std::uint64_t>(i),
                                   static_cast<std::uint64_t>(label)});
        random_stream naming(combine_seed({video.seed, 0x6e616d65ULL}));
        video.youtube_id = youtube_like_id(naming);
        video.time_start = static_cast<int>(naming.integer(0, 300));
        video.time_end = video.time_start + static_cast<int>(std::ceil(options.seconds));
        videos.push_back(video);
      }
    }
  }

  const fs::path root(options.root);
  for (const auto& video : videos) {
    fs::create_directories((root / video.relative_path(summary.class_names)).parent_path());
  }
  const int frames = std::max(1, static_cast<int>(std::lround(options.seconds * options.fps)));

  std::atomic<std::int64_t> written{0};
  std::atomic<std::int64_t> kept{0};
  std::mutex report_mutex;
  run_parallel_tasks(videos.size(), options.jobs, [&](std::size_t i) {
    const auto& video = videos[i];
    const auto path = (root / video.relative_path(summary.class_names)).string();
    if (fs::exists(path)) {
      ++kept;
      return;
    }
    const synthetic_scene scene(
        options.content, motion_classes()[static_cast<std::size_t>(video.motion)], options.width,
        options.height, options.fps, video.seed, options.style);
    write_synthetic_video(path, scene, options.width, options.height, options.fps, frames, options);
    ++written;
    if (options.progress) {
      std::lock_guard<std::mutex> lock(report_mutex);
      options.progress(path);
    }
  });
  summary.written = written;
  summary.kept = kept;

  for (const auto& [split, count] : splits) {
    std::string pyslowfast, mmaction2, kinetics = "label,youtube_id,time_start,time_end,split\n";
    for (const auto& video : videos) {
      if (video.split != split) continue;
      const auto relative = video.relative_path(summary.class_names);
      const auto label = std::to_string(video.label);
      pyslowfast += relative + " " + label + "\n";
      mmaction2 += relative + " " + label + "\n";
      kinetics += csv_field(summary.class_names[static_cast<std::size_t>(video.label)]) + "," +
                  video.youtube_id + "," + std::to_string(video.time_start) + "," +
                  std::to_string(video.time_end) + "," + split + "\n";
    }
    write_file_atomically((root / (std::string(split) + ".csv")).string(), pyslowfast);
    write_file_atomically((root / (std::string(split) + "_list_videos.txt")).string(), mmaction2);
    write_file_atomically((root / ("kinetics_" + std::string(split) + ".csv")).string(), kinetics);
  }
  write_file_atomically((root / "classes.txt").string(), label_map_text(summary.class_names));
  return summary;
}

}  // namespace multigrid::reference
