#pragma once
// Decodes the clips of one request from one video: opens it, plans the clips from its header,
// seeks once to the keyframe before the earliest clip, decodes forward until the last sampled
// frame, and converts only the frames that are sampled, straight into the caller's buffers.
// One decoder per worker thread: it keeps its scaler and buffers between videos.

#include <cstdint>
#include <string>
#include <vector>

#include "data/clip_request.hpp"
#include "data/frame_converter.hpp"
#include "data/video_reader.hpp"

namespace multigrid::reference {

/// Seconds spent in each step, summed over clips.
struct decode_timings {
  double open_seconds = 0;         ///< opening the file and its decoder
  double seek_decode_seconds = 0;  ///< seeking and decoding
  conversion_timings conversion;   ///< colour conversion + scaling, and crop/flip/rotation
  std::int64_t frames_decoded = 0;
  std::int64_t videos = 0;

  decode_timings& operator+=(const decode_timings& other) noexcept;
};

class clip_decoder {
 public:
  explicit clip_decoder(video_reader_options options = {}) : options_(options) {}

  /// Decodes request.clips() clips of `path` into outputs[i], each request.clip_bytes() long
  /// (3 x T x S x S: red, green, blue planes, frames in order). Returns what was sampled.
  /// Throws video_error when the video cannot give the clips.
  std::vector<sampled_clip> decode(const std::string& path, const clip_request& request,
                                   random_stream& random,
                                   const std::vector<std::uint8_t*>& outputs);

  /// Decodes the clips already planned for an open video.
  void decode(video_reader& reader, const std::vector<sampled_clip>& clips,
              const std::vector<std::uint8_t*>& outputs);

  const decode_timings& timings() const noexcept { return timings_; }
  void reset_timings() noexcept { timings_ = {}; }

 private:
  bool decode_pass(video_reader& reader, const std::vector<sampled_clip>& clips,
                   const std::vector<std::uint8_t*>& outputs, bool allow_restart);
  bool decode_known_frames(video_reader& reader, const std::vector<sampled_clip>& clips,
                           const std::vector<std::uint8_t*>& outputs,
                           std::vector<std::int64_t> timestamps);
  bool decode_counting_frames(video_reader& reader, const std::vector<sampled_clip>& clips,
                              const std::vector<std::uint8_t*>& outputs, bool check_seek);
  void emit(const video_reader& reader, const sampled_clip& clip, std::uint8_t* output,
            std::size_t slot, const AVFrame& frame, std::uint64_t serial);

  video_reader_options options_;
  frame_converter converter_;
  ffmpeg::frame previous_ = ffmpeg::make_frame();
  std::uint64_t frame_serial_ = 0;
  decode_timings timings_;
};

/// Counts the frames of a stream whose header gives neither a frame count nor a duration, by
/// decoding it once.
std::int64_t count_video_frames(const std::string& path, const video_reader_options& options);

}  // namespace multigrid::reference
