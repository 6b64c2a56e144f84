#include "data/video_preparation.hpp"

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cmath>
#include <filesystem>
#include <mutex>
#include <thread>

#include "data/parallel_tasks.hpp"
#include "data/video_encoder.hpp"

namespace multigrid::reference {
namespace {

namespace fs = std::filesystem;

std::string lower(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return text;
}

int even(double value) {
  return std::max(2, static_cast<int>(std::lround(value / 2)) * 2);
}

/// Whether the container chosen by `path`'s extension can hold the encoder's codec.
bool container_accepts(const std::string& path, const std::string& codec_name) {
  const AVOutputFormat* format = av_guess_format(nullptr, path.c_str(), nullptr);
  const AVCodec* codec = avcodec_find_encoder_by_name(codec_name.c_str());
  if (format == nullptr || codec == nullptr) return false;
  return avformat_query_codec(format, codec->id, FF_COMPLIANCE_NORMAL) == 1;
}

/// Copies a packed RGB picture rotated clockwise by `rotation` degrees.
void rotate_rgb(const std::vector<std::uint8_t>& source, int width, int height, int rotation,
                std::vector<std::uint8_t>& target) {
  const bool sideways = rotation == 90 || rotation == 270;
  const int out_width = sideways ? height : width;
  target.resize(source.size() + 64);  // swscale reads a little past the last row
  for (int y = 0; y < height; ++y) {
    for (int x = 0; x < width; ++x) {
      int tx = x;
      int ty = y;
      if (rotation == 90) {
        tx = height - 1 - y;
        ty = x;
      } else if (rotation == 180) {
        tx = width - 1 - x;
        ty = height - 1 - y;
      } else if (rotation == 270) {
        tx = y;
        ty = width - 1 - x;
      }
      const auto from = (static_cast<std::size_t>(y) * width + x) * 3;
      const auto to = (static_cast<std::size_t>(ty) * out_width + tx) * 3;
      target[to] = source[from];
      target[to + 1] = source[from + 1];
      target[to + 2] = source[from + 2];
    }
  }
}

}  // namespace

bool is_video_file(const std::string& path) {
  static const char* extensions[] = {".mp4",  ".m4v", ".mkv", ".webm", ".avi", ".mov", ".mpg",
                                     ".mpeg", ".flv", ".3gp", ".ts",   ".wmv", ".ogv"};
  const auto extension = lower(fs::path(path).extension().string());
  return std::any_of(std::begin(extensions), std::end(extensions),
                     [&](const char* known) { return extension == known; });
}

frame_size prepared_size(frame_size display, int short_side) {
  if (display.width <= display.height) {
    return {even(short_side),
            even(static_cast<double>(display.height) * short_side / display.width)};
  }
  return {even(static_cast<double>(display.width) * short_side / display.height), even(short_side)};
}

void prepare_video(const std::string& source, const std::string& target,
                   const preparation_options& options) {
  video_reader reader(source, options.reader);
  const auto& info = reader.info();
  const frame_size size = prepared_size(info.display_size(), options.short_side);
  const AVRational rate = av_d2q(info.fps, 1 << 20);
  encoder_settings settings;
  settings.width = size.width;
  settings.height = size.height;
  settings.time_base_num = info.time_base_num;
  settings.time_base_den = info.time_base_den;
  settings.frame_rate_num = rate.num;
  settings.frame_rate_den = rate.den;
  settings.codec = options.codec;
  settings.keyframe_interval = options.keyframe_interval;
  settings.preset = options.preset;
  settings.tune = options.tune;
  settings.quality = options.quality;
  settings.x264_params = options.x264_params;

  const std::string temporary = target + ".partial";
  try {
    video_encoder encoder(temporary, settings, target);
    ffmpeg::scaler scaler;
    std::vector<std::uint8_t> rgb;
    std::vector<std::uint8_t> rotated;
    // A long video must not trip the per-operation timeout meant for a clip.
    while (AVFrame* frame = reader.next_frame()) {
      reader.restart_deadline();
      if (info.rotation == 0) {
        encoder.write_frame(*frame, reader.frame_ticks());
        continue;
      }
      // Scale in the stored orientation, then turn the pixels upright.
      const bool sideways = info.rotation == 90 || info.rotation == 270;
      const int width = sideways ? size.height : size.width;
      const int height = sideways ? size.width : size.height;
      scaler.reset(sws_getCachedContext(scaler.release(), frame->width, frame->height,
                                        static_cast<AVPixelFormat>(frame->format), width, height,
                                        AV_PIX_FMT_RGB24, SWS_BICUBIC, nullptr, nullptr, nullptr));
      if (!scaler) throw video_error(source, "cannot convert its pixel format");
      rgb.resize(static_cast<std::size_t>(width) * height * 3);
      std::uint8_t* planes[1] = {rgb.data()};
      int strides[1] = {width * 3};
      sws_scale(scaler.get(), frame->data, frame->linesize, 0, frame->height, planes, strides);
      rotate_rgb(rgb, width, height, info.rotation, rotated);
      encoder.write_rgb(rotated.data(), size.width * 3, reader.frame_ticks());
    }
    if (reader.frames_decoded() == 0) throw video_error(source, "no frames could be decoded");
    encoder.finish();
  } catch (...) {
    std::error_code ignored;
    fs::remove(temporary, ignored);
    throw;
  }
  std::error_code error;
  fs::rename(temporary, target, error);
  if (error)
    throw std::runtime_error(target + ": cannot rename the finished video: " + error.message());
}

preparation_report prepare_videos(const std::string& source_root, const std::string& target_root,
                                  const preparation_options& options) {
  if (options.short_side < 2) throw std::invalid_argument("--short-side must be at least 2");
  if (options.keyframe_interval < 1)
    throw std::invalid_argument("--keyframe-interval must be positive");
  if (options.jobs < 1) throw std::invalid_argument("--jobs must be positive");
  const fs::path source(source_root);
  const fs::path target(target_root);
  if (!fs::is_directory(source)) throw std::invalid_argument(source_root + " is not a folder");
  if (fs::exists(target) && fs::equivalent(source, target)) {
    throw std::invalid_argument("the target folder must differ from the source folder");
  }
  const std::string codec =
      options.codec == "auto" || options.codec.empty() ? default_video_encoder() : options.codec;
  if (!has_video_encoder(codec))
    throw std::invalid_argument("this FFmpeg build has no `" + codec + "` encoder");

  preparation_report report;
  std::vector<std::pair<fs::path, fs::path>> videos;
  for (const auto& entry : fs::recursive_directory_iterator(source)) {
    if (!entry.is_regular_file()) continue;
    const auto relative = fs::relative(entry.path(), source);
    const auto name = entry.path().filename().string();
    if (name.size() > 8 && name.compare(name.size() - 8, 8, ".partial") == 0) continue;
    fs::path destination = target / relative;
    fs::create_directories(destination.parent_path());
    if (!is_video_file(name)) {
      if (!fs::exists(destination)) {
        fs::copy_file(entry.path(), destination);
        ++report.copied;
      }
      continue;
    }
    if (!container_accepts(destination.string(), codec)) {
      const auto renamed = fs::path(destination).replace_extension(".mp4");
      report.renamed.emplace_back(entry.path().string(), renamed.string());
      destination = renamed;
    }
    videos.emplace_back(entry.path(), destination);
  }
  std::sort(videos.begin(), videos.end());

  std::mutex mutex;
  run_parallel_tasks(videos.size(), options.jobs, [&](std::size_t i) {
    const auto& [from, to] = videos[i];
    std::string line;
    if (fs::exists(to)) {
      std::lock_guard<std::mutex> lock(mutex);
      ++report.skipped;
      return;
    }
    try {
      prepare_video(from.string(), to.string(), options);
      std::lock_guard<std::mutex> lock(mutex);
      ++report.converted;
      line = "prepared " + to.string();
    } catch (const video_error& error) {
      std::lock_guard<std::mutex> lock(mutex);
      report.failures.emplace_back(from.string(), error.reason());
      line = "skipped broken " + from.string() + ": " + error.reason();
    } catch (const std::exception& error) {
      std::lock_guard<std::mutex> lock(mutex);
      report.failures.emplace_back(from.string(), error.what());
      line = "failed " + from.string() + ": " + error.what();
    }
    if (options.progress) {
      std::lock_guard<std::mutex> lock(mutex);
      options.progress(line);
    }
  });
  std::sort(report.failures.begin(), report.failures.end());
  return report;
}

}  // namespace multigrid::reference
