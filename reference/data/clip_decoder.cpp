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

void clip_decoder::emit(const video_reader& reader, const sampled_clip& clip, std::uint8_t* output,
                        std::size_t slot, const AVFrame& frame, std::uint64_t serial) {
  const auto frame_bytes = static_cast<std::size_t>(clip.geometry.crop.size) *
                           static_cast<std::size_t>(clip.geometry.crop.size);
  const auto plane_bytes = frame_bytes * clip.positions.size();
  std::uint8_t* base = output + slot * frame_bytes;
  converter_.convert(frame, serial, reader.info().rotation, clip.geometry, base, base + plane_bytes,
                     base + 2 * plane_bytes, timings_.conversion);
}

bool clip_decoder::decode_pass(video_reader& reader, const std::vector<sampled_clip>& clips,
                               const std::vector<std::uint8_t*>& outputs, bool allow_restart) {
  const bool by_index = clips.front().by_frame_index;
  std::int64_t window_start = std::numeric_limits<std::int64_t>::max();
  std::int64_t window_end = std::numeric_limits<std::int64_t>::min();
  for (const auto& clip : clips) {
    window_start = std::min(window_start, clip.start_ticks);
    window_end = std::max(window_end, clip.end_ticks);
  }
  const std::int64_t seek_target = (by_index || !allow_restart) ? 0 : window_start;

  const auto start = clock_type::now();
  const auto conversion_before =
      timings_.conversion.convert_seconds + timings_.conversion.augment_seconds;
  const auto finish_timing = [&] {
    const auto conversion_after =
        timings_.conversion.convert_seconds + timings_.conversion.augment_seconds;
    timings_.seek_decode_seconds += seconds_since(start) - (conversion_after - conversion_before);
    timings_.frames_decoded += reader.frames_decoded();
  };
  reader.seek(seek_target);
  if (!by_index) {
    // Read the packets of the window ahead: their timestamps say exactly which frames the clips
    // take, so frames that nothing references and no clip takes need not be decoded at all.
    // B-frames arrive up to a few packets out of order; 32 more cover any encoder's reordering.
    auto timestamps = reader.scan_ahead(window_end, 32);
    if (timestamps && !timestamps->empty()) {
      const auto earliest = *std::min_element(timestamps->begin(), timestamps->end());
      if (seek_target > 0 && earliest > window_start) {
        finish_timing();
        return false;  // the seek landed after the window: decode from the start
      }
      try {
        const bool consistent = decode_known_frames(reader, clips, outputs, std::move(*timestamps));
        if (consistent) {
          finish_timing();
          return true;
        }
      } catch (...) {
        finish_timing();
        throw;
      }
      // Decoded frames carry other timestamps than their packets: count frames instead.
      reader.seek(seek_target);
    }
  }
  bool complete = false;
  try {
    complete = decode_counting_frames(reader, clips, outputs, seek_target > 0);
  } catch (...) {
    finish_timing();
    throw;
  }
  finish_timing();
  return complete;
}

bool clip_decoder::decode_known_frames(video_reader& reader, const std::vector<sampled_clip>& clips,
                                       const std::vector<std::uint8_t*>& outputs,
                                       std::vector<std::int64_t> timestamps) {
  const video_info& info = reader.info();
  std::sort(timestamps.begin(), timestamps.end());
  timestamps.erase(std::unique(timestamps.begin(), timestamps.end()), timestamps.end());
  // For every output frame of every clip, the timestamp of the frame it shows.
  std::vector<std::vector<std::int64_t>> targets(clips.size());
  std::vector<std::int64_t> wanted;
  std::size_t remaining = 0;
  for (std::size_t c = 0; c < clips.size(); ++c) {
    const auto& clip = clips[c];
    const auto first = std::lower_bound(timestamps.begin(), timestamps.end(), clip.start_ticks);
    const auto past = std::upper_bound(timestamps.begin(), timestamps.end(), clip.end_ticks);
    // Frames in the window, and the first one after it if there is one (PySlowFast keeps it).
    const auto kept = (past - first) + (past != timestamps.end() ? 1 : 0);
    if (kept <= 0) {
      std::string reason = "no frames at or after " + seconds_text(clip.start_ticks, info) +
                           " s although the header announces " + std::to_string(info.frame_count) +
                           " frames (truncated file?)";
      if (!reader.read_error().empty()) reason += "; reading stopped: " + reader.read_error();
      throw video_error(reader.path(), reason);
    }
    for (const int position : clip.positions) {
      targets[c].push_back(*(first + std::min<std::ptrdiff_t>(position, kept - 1)));
    }
    wanted.insert(wanted.end(), targets[c].begin(), targets[c].end());
    remaining += clip.positions.size();
  }
  std::sort(wanted.begin(), wanted.end());
  wanted.erase(std::unique(wanted.begin(), wanted.end()), wanted.end());
  reader.want_only(wanted);

  std::vector<std::vector<bool>> filled(clips.size());
  for (std::size_t c = 0; c < clips.size(); ++c) filled[c].assign(clips[c].positions.size(), false);
  while (remaining > 0) {
    AVFrame* frame = reader.next_frame();
    if (frame == nullptr) break;
    const std::int64_t time = reader.frame_ticks();
    if (!std::binary_search(timestamps.begin(), timestamps.end(), time)) return false;
    if (!std::binary_search(wanted.begin(), wanted.end(), time)) continue;
    const std::uint64_t serial = ++frame_serial_;
    for (std::size_t c = 0; c < clips.size(); ++c) {
      for (std::size_t slot = 0; slot < targets[c].size(); ++slot) {
        if (filled[c][slot] || targets[c][slot] != time) continue;
        emit(reader, clips[c], outputs[c], slot, *frame, serial);
        filled[c][slot] = true;
        --remaining;
      }
    }
  }
  if (remaining > 0) {
    for (std::size_t c = 0; c < clips.size(); ++c) {
      for (std::size_t slot = 0; slot < targets[c].size(); ++slot) {
        if (filled[c][slot]) continue;
        std::string reason =
            "the frame at " + seconds_text(targets[c][slot], info) + " s could not be decoded";
        if (!reader.read_error().empty())
          reason += " (reading stopped: " + reader.read_error() + ")";
        throw video_error(reader.path(), reason);
      }
    }
  }
  return true;
}

bool clip_decoder::decode_counting_frames(video_reader& reader,
                                          const std::vector<sampled_clip>& clips,
                                          const std::vector<std::uint8_t*>& outputs,
                                          bool check_seek) {
  // Without trustworthy packet timestamps, frames are counted as they come out of the decoder.
  const video_info& info = reader.info();
  const bool by_index = clips.front().by_frame_index;
  std::int64_t window_start = std::numeric_limits<std::int64_t>::max();
  for (const auto& clip : clips) window_start = std::min(window_start, clip.start_ticks);
  reader.discard_unreferenced_before(by_index ? 0 : window_start);

  std::vector<clip_progress> progress(clips.size());
  std::size_t remaining = clips.size();
  bool have_previous = false;
  std::uint64_t previous_serial = 0;
  std::int64_t frame_index = -1;
  const auto finish_with = [&](std::size_t c, const AVFrame& frame, std::uint64_t serial) {
    auto& p = progress[c];
    while (p.next_slot < clips[c].positions.size())
      emit(reader, clips[c], outputs[c], p.next_slot++, frame, serial);
    p.done = true;
    --remaining;
  };

  while (remaining > 0) {
    AVFrame* frame = reader.next_frame();
    if (frame == nullptr) break;
    ++frame_index;
    const std::uint64_t serial = ++frame_serial_;
    const std::int64_t time = by_index ? frame_index : reader.frame_ticks();
    if (check_seek && frame_index == 0 && time > window_start) return false;
    for (std::size_t c = 0; c < clips.size(); ++c) {
      auto& p = progress[c];
      const auto& clip = clips[c];
      if (p.done || time < clip.start_ticks) continue;
      const std::int64_t position = p.kept++;
      while (p.next_slot < clip.positions.size() && clip.positions[p.next_slot] <= position) {
        emit(reader, clip, outputs[c], p.next_slot++, *frame, serial);
      }
      // PySlowFast keeps the first frame after the window and stops; positions past the frames
      // kept are clamped to the last one.
      if (time > clip.end_ticks || p.next_slot == clip.positions.size())
        finish_with(c, *frame, serial);
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
  return true;
}

}  // namespace multigrid::reference
