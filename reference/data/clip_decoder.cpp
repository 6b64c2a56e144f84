#include "data/clip_decoder.hpp"

#include <algorithm>
#include <chrono>
#include <limits>
#include <sstream>

namespace multigrid::reference {
namespace {

using clock_type = std::chrono::steady_clock;

double seconds_since(clock_type::time_point start) {
  return std::chrono::duration<double>(clock_type::now() - start).count();
}

/// Progress of one clip while the shared window is decoded.
struct clip_progress {
  std::int64_t kept = 0;  ///< frames at or after the clip's start seen so far
  std::size_t next_slot = 0;
  bool done = false;
};

std::string seconds_text(std::int64_t ticks, const video_info& info) {
  std::ostringstream text;
  text.precision(3);
  text << std::fixed << static_cast<double>(ticks) * info.time_base_num / info.time_base_den;
  return text.str();
}

}  // namespace

decode_timings& decode_timings::operator+=(const decode_timings& other) noexcept {
  open_seconds += other.open_seconds;
  seek_decode_seconds += other.seek_decode_seconds;
  conversion.convert_seconds += other.conversion.convert_seconds;
  conversion.augment_seconds += other.conversion.augment_seconds;
  conversion.frames_converted += other.conversion.frames_converted;
  frames_decoded += other.frames_decoded;
  videos += other.videos;
  return *this;
}

std::int64_t count_video_frames(const std::string& path, const video_reader_options& options) {
  video_reader reader(path, options);
  std::int64_t frames = 0;
  while (reader.next_frame() != nullptr) ++frames;
  return frames;
}

std::vector<sampled_clip> clip_decoder::decode(const std::string& path, const clip_request& request,
                                               random_stream& random,
                                               const std::vector<std::uint8_t*>& outputs) {
  if (outputs.size() != static_cast<std::size_t>(request.clips())) {
    throw std::invalid_argument("clip_decoder: one output buffer per clip is needed");
  }
  const auto start = clock_type::now();
  video_reader reader(path, options_);
  timings_.open_seconds += seconds_since(start);
  ++timings_.videos;
  video_info info = reader.info();
  if (info.frame_count == 0) {
    // Neither a frame count nor a duration: count the frames once, as PySlowFast's
    // decode-everything path does, then sample by frame index.
    info.frame_count = count_video_frames(path, options_);
    info.frame_count_estimated = true;
    if (info.frame_count == 0) throw video_error(path, "no frames could be decoded");
  }
  auto clips = plan_clips(info, request, random);
  decode(reader, clips, outputs);
  return clips;
}

void clip_decoder::decode(video_reader& reader, const std::vector<sampled_clip>& clips,
                          const std::vector<std::uint8_t*>& outputs) {
  if (clips.empty()) return;
  if (outputs.size() != clips.size()) {
    throw std::invalid_argument("clip_decoder: one output buffer per clip is needed");
  }
  if (!decode_pass(reader, clips, outputs, true)) {
    // The seek landed after the window (an imprecise index): decode from the very start.
    decode_pass(reader, clips, outputs, false);
  }
}

bool clip_decoder::decode_pass(video_reader& reader, const std::vector<sampled_clip>& clips,
                               const std::vector<std::uint8_t*>& outputs, bool allow_restart) {
  const video_info& info = reader.info();
  const bool by_index = clips.front().by_frame_index;
  std::int64_t window_start = std::numeric_limits<std::int64_t>::max();
  for (const auto& clip : clips) window_start = std::min(window_start, clip.start_ticks);
  const std::int64_t seek_target = (by_index || !allow_restart) ? 0 : window_start;

  auto start = clock_type::now();
  reader.seek(seek_target);
  reader.discard_unreferenced_before(by_index ? 0 : window_start);

  std::vector<clip_progress> progress(clips.size());
  std::size_t remaining = clips.size();
  bool have_previous = false;
  std::uint64_t previous_serial = 0;
  std::int64_t frame_index = -1;

  const auto emit = [&](std::size_t c, const AVFrame& frame, std::uint64_t serial) {
    const auto& clip = clips[c];
    const auto frames = clip.positions.size();
    const auto plane_bytes = frames * static_cast<std::size_t>(clip.geometry.crop.size) *
                             static_cast<std::size_t>(clip.geometry.crop.size);
    const auto frame_bytes = plane_bytes / frames;
    auto& p = progress[c];
    std::uint8_t* base = outputs[c] + p.next_slot * frame_bytes;
    timings_.seek_decode_seconds += seconds_since(start);
    converter_.convert(frame, serial, info.rotation, clip.geometry, base, base + plane_bytes,
                       base + 2 * plane_bytes, timings_.conversion);
    start = clock_type::now();
    ++p.next_slot;
  };
  const auto finish_with = [&](std::size_t c, const AVFrame& frame, std::uint64_t serial) {
    auto& p = progress[c];
    while (p.next_slot < clips[c].positions.size()) emit(c, frame, serial);
    p.done = true;
    --remaining;
  };

  while (remaining > 0) {
    AVFrame* frame = reader.next_frame();
    if (frame == nullptr) break;
    ++frame_index;
    const std::uint64_t serial = ++frame_serial_;
    const std::int64_t time = by_index ? frame_index : reader.frame_ticks();
    if (allow_restart && frame_index == 0 && seek_target > 0 && time > window_start) {
      timings_.seek_decode_seconds += seconds_since(start);
      timings_.frames_decoded += reader.frames_decoded();
      return false;
    }
    for (std::size_t c = 0; c < clips.size(); ++c) {
      auto& p = progress[c];
      const auto& clip = clips[c];
      if (p.done || time < clip.start_ticks) continue;
      const std::int64_t position = p.kept++;
      while (p.next_slot < clip.positions.size() && clip.positions[p.next_slot] <= position) {
        emit(c, *frame, serial);
      }
      // PySlowFast keeps the first frame after the window and stops; positions past the frames
      // kept are clamped to the last one.
      if (time > clip.end_ticks || p.next_slot == clip.positions.size()) finish_with(c, *frame, serial);
    }
    if (remaining > 0) {
      av_frame_unref(previous_.get());
      if (av_frame_ref(previous_.get(), frame) < 0) throw std::bad_alloc();
      have_previous = true;
      previous_serial = serial;
    }
  }

  if (remaining > 0) {
    // The stream ended: clips that saw frames repeat their last one; others cannot be made.
    for (std::size_t c = 0; c < clips.size(); ++c) {
      if (progress[c].done) continue;
      if (progress[c].kept == 0 || !have_previous) {
        std::string reason = "no frames at or after " +
                             (by_index ? "frame " + std::to_string(clips[c].start_ticks)
                                       : seconds_text(clips[c].start_ticks, info) + " s") +
                             " although the header announces " + std::to_string(info.frame_count) +
                             " frames (truncated file?)";
        if (!reader.read_error().empty()) reason += "; reading stopped: " + reader.read_error();
        av_frame_unref(previous_.get());
        throw video_error(reader.path(), reason);
      }
      finish_with(c, *previous_, previous_serial);
    }
  }
  av_frame_unref(previous_.get());
  timings_.seek_decode_seconds += seconds_since(start);
  timings_.frames_decoded += reader.frames_decoded();
  return true;
}

}  // namespace multigrid::reference
