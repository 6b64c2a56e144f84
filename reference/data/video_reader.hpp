#pragma once
// One open video: the container, its first video stream and a decoder. Seeks to the keyframe at
// or before a timestamp and decodes forward, frame by frame, in presentation order. Every failure
// (missing, empty, truncated or garbage file, no video stream, no decoder, a decoding error)
// throws video_error naming the file and the reason; no operation can hang longer than the
// timeout, which aborts FFmpeg's I/O.

#include <chrono>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <vector>

#include "data/ffmpeg_error.hpp"
#include "data/ffmpeg_handles.hpp"
#include "data/video_info.hpp"

namespace multigrid::reference {

struct video_reader_options {
  int decoder_threads = 1;      ///< 1 in loader workers: the workers already use every core
  double timeout_seconds = 60;  ///< for opening, and for each seek-and-decode
};

class video_reader {
 public:
  explicit video_reader(std::string path, video_reader_options options = {});
  video_reader(const video_reader&) = delete;
  video_reader& operator=(const video_reader&) = delete;

  const std::string& path() const noexcept { return path_; }
  const video_info& info() const noexcept { return info_; }

  /// Positions the stream so that decoding starts at the keyframe at or before `ticks` (stream
  /// time base, counted from the first frame). The reader starts at the beginning.
  void seek(std::int64_t ticks);

  /// Frames whose timestamp is before `ticks` may be left undecoded when no other frame depends on
  /// them (AVDISCARD_NONREF): they are never shown, so skipping them saves decoding time.
  void discard_unreferenced_before(std::int64_t ticks) noexcept { discard_before_ = ticks; }

  /// Reads packets ahead without decoding them, until one stamped after `ticks` and `extra` more
  /// have been read (B-frames arrive out of order), or the stream ends. Returns the timestamps of
  /// all packets read ahead since the last seek, in stream order; nullopt if one has no timestamp.
  std::optional<std::vector<std::int64_t>> scan_ahead(std::int64_t ticks, int extra);

  /// Only frames with these timestamps (sorted) are wanted: up to the last of them, frames that no
  /// other frame depends on are not decoded unless wanted. Empty: no restriction. Reset by seek().
  void want_only(std::vector<std::int64_t> timestamps) { wanted_ = std::move(timestamps); }

  /// The next frame in presentation order, or nullptr at the end of the stream. The frame is
  /// owned by the reader and valid until the next call.
  AVFrame* next_frame();

  /// Timestamp of a frame that next_frame() returned, in ticks from the first frame.
  std::int64_t frame_ticks() const noexcept { return last_ticks_; }
  /// Frames decoded since the last seek (including ones before the requested time).
  std::int64_t frames_decoded() const noexcept { return frames_decoded_; }
  /// Why the stream ended early, when reading failed before its end; empty otherwise.
  const std::string& read_error() const noexcept { return read_error_; }

  /// Restarts the deadline of the timeout (each clip gets the full timeout).
  void restart_deadline() noexcept;

 private:
  [[noreturn]] void fail(const std::string& reason) const;
  bool send_next_packet();
  /// The next packet of the video stream, from the read-ahead queue first; false at the end.
  bool read_packet();
  bool wanted(std::int64_t ticks) const;
  static int interrupt(void* opaque) noexcept;

  std::string path_;
  video_reader_options options_;
  std::chrono::steady_clock::time_point deadline_;
  ffmpeg::input_format format_;
  ffmpeg::codec_context decoder_;
  ffmpeg::packet packet_;
  ffmpeg::frame frame_;
  int stream_index_ = -1;
  video_info info_;
  std::int64_t discard_before_ = 0;
  std::deque<ffmpeg::packet> read_ahead_;
  bool read_ahead_ended_ = false;  ///< the read-ahead reached the end of the stream
  std::vector<std::int64_t> wanted_;
  std::int64_t last_ticks_ = 0;
  std::int64_t ticks_per_frame_ = 1;
  std::int64_t frames_decoded_ = 0;
  bool packets_read_ = false;
  bool flushing_ = false;
  std::string read_error_;
  bool opening_ = true;  ///< failures while opening concern the whole file
};

/// Sets FFmpeg's process-wide log level (AV_LOG_*). The loader and the tools report failures
/// themselves, with the file's path, so they quieten FFmpeg's own messages to AV_LOG_FATAL.
void set_ffmpeg_log_level(int level);

}  // namespace multigrid::reference
