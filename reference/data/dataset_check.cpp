#include "data/dataset_check.hpp"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <map>
#include <mutex>
#include <sstream>
#include <thread>

#include "data/frame_converter.hpp"
#include "data/parallel_tasks.hpp"

namespace multigrid::reference {
namespace {

std::string fixed(double value, int digits) {
  std::ostringstream text;
  text.precision(digits);
  text << std::fixed << value;
  return text.str();
}

template <class Key>
std::string histogram(const std::map<Key, std::int64_t>& counts, const std::string& unit) {
  std::vector<std::pair<std::int64_t, Key>> sorted;
  for (const auto& [key, count] : counts) sorted.emplace_back(count, key);
  std::sort(sorted.begin(), sorted.end(),
            [](const auto& a, const auto& b) { return a.first > b.first; });
  std::ostringstream text;
  std::size_t shown = 0;
  for (const auto& [count, key] : sorted) {
    if (shown++ == 8) {
      text << ", ... (" << sorted.size() << " distinct)";
      break;
    }
    text << (shown > 1 ? ", " : "") << key << unit << ": " << count;
  }
  return text.str();
}

}  // namespace

video_check check_video(const std::string& path, const dataset_check_options& options) {
  video_check check;
  try {
    video_reader reader(path, options.reader);
    check.info = reader.info();
    frame_converter converter;
    conversion_timings timings;
    const auto display = check.info.display_size();
    const int crop = std::min(display.width, display.height);
    clip_geometry geometry{display, uniform_crop(display, crop, 1), false};
    std::vector<std::uint8_t> pixels(3 * static_cast<std::size_t>(crop) *
                                     static_cast<std::size_t>(crop));
    const auto plane = pixels.data();
    const auto plane_bytes = static_cast<std::size_t>(crop) * static_cast<std::size_t>(crop);
    std::uint64_t serial = 0;
    while (AVFrame* frame = reader.next_frame()) {
      // The first frame goes through the loader's conversion too: its pixel format must convert.
      if (serial++ == 0) {
        converter.convert(*frame, serial, check.info.rotation, geometry, plane, plane + plane_bytes,
                          plane + 2 * plane_bytes, timings);
      }
      ++check.frames_decoded;
    }
    check.usable = true;
    if (check.frames_decoded == 0) {
      check.usable = false;
      check.reason = "no frames could be decoded";
    } else if (!check.info.frame_count_estimated && check.info.frame_count > 0 &&
               static_cast<double>(check.frames_decoded) <
                   options.min_decoded_share * static_cast<double>(check.info.frame_count)) {
      check.usable = false;
      check.reason = "truncated: decoded " + std::to_string(check.frames_decoded) + " of the " +
                     std::to_string(check.info.frame_count) + " frames its header announces";
      if (!reader.read_error().empty()) check.reason += " (" + reader.read_error() + ")";
    }
  } catch (const video_error& error) {
    check.usable = false;
    check.reason = error.reason();
  } catch (const std::exception& error) {
    check.usable = false;
    check.reason = error.what();
  }
  return check;
}

dataset_check_report check_dataset(const video_dataset& dataset,
                                   const dataset_check_options& options) {
  dataset_check_report report;
  report.videos.resize(static_cast<std::size_t>(dataset.size()));
  std::mutex progress_mutex;
  run_parallel_tasks(report.videos.size(), options.jobs, [&](std::size_t slot) {
    const auto i = static_cast<std::int64_t>(slot);
    auto check = check_video(dataset[i].path, options);
    check.index = i;
    report.videos[slot] = check;
    if (options.progress) {
      std::lock_guard<std::mutex> lock(progress_mutex);
      options.progress(check);
    }
  });
  return report;
}

std::int64_t dataset_check_report::usable() const {
  return std::count_if(videos.begin(), videos.end(), [](const auto& v) { return v.usable; });
}

std::int64_t dataset_check_report::broken() const {
  return static_cast<std::int64_t>(videos.size()) - usable();
}

std::string dataset_check_report::summary(const video_dataset& dataset) const {
  std::ostringstream text;
  text << "dataset: " << dataset.source() << "\n";
  text << "videos: " << videos.size() << " listed, " << usable() << " usable, " << broken()
       << " broken\n";

  std::map<int, std::pair<std::int64_t, std::int64_t>> per_class;  // listed, usable
  std::map<std::string, std::int64_t> sizes, codecs, rates, rotations;
  std::vector<double> durations;
  for (const auto& video : videos) {
    auto& counts = per_class[dataset[video.index].label];
    ++counts.first;
    if (!video.usable) continue;
    ++counts.second;
    const auto display = video.info.display_size();
    ++sizes[std::to_string(display.width) + "x" + std::to_string(display.height)];
    ++codecs[video.info.codec];
    ++rates[fixed(video.info.fps, 2)];
    if (video.info.rotation != 0) ++rotations[std::to_string(video.info.rotation)];
    durations.push_back(static_cast<double>(video.frames_decoded) / video.info.fps);
  }
  text << "classes: " << per_class.size() << "\n";
  for (const auto& [label, counts] : per_class) {
    text << "  " << label << " " << dataset.class_name(label) << ": " << counts.second << " usable";
    if (counts.first != counts.second) text << " of " << counts.first;
    text << "\n";
  }
  if (!durations.empty()) {
    std::sort(durations.begin(), durations.end());
    text << "durations (s): min " << fixed(durations.front(), 2) << ", median "
         << fixed(durations[durations.size() / 2], 2) << ", max " << fixed(durations.back(), 2)
         << "\n";
    text << "frame rates: " << histogram(rates, " fps") << "\n";
    text << "sizes: " << histogram(sizes, "") << "\n";
    text << "codecs: " << histogram(codecs, "") << "\n";
    if (!rotations.empty()) text << "rotated for display: " << histogram(rotations, " deg") << "\n";
  }
  if (broken() > 0) {
    text << "broken videos:\n";
    for (const auto& video : videos) {
      if (video.usable) continue;
      const auto& sample = dataset[video.index];
      text << "  " << sample.path << ": " << video.reason << " (" << sample.origin << ")\n";
    }
  }
  return text.str();
}

}  // namespace multigrid::reference
