#pragma once
// Writes a video file with libavcodec and libavformat: H.264 through libx264 where the FFmpeg
// build has it, MPEG-4 part 2 otherwise (FFmpeg's own encoder, present in every build), or a
// codec named explicitly. Frames go in as RGB or as decoded frames of any format and size; the
// encoder converts them to its pixel format with swscale.

#include <cstdint>
#include <string>

#include "data/ffmpeg_handles.hpp"

namespace multigrid::reference {

struct encoder_settings {
  int width = 0;
  int height = 0;
  int time_base_num = 1;  ///< of the timestamps passed in (1/fps for frame numbers)
  int time_base_den = 30;
  int frame_rate_num = 30;  ///< the nominal frame rate written into the container
  int frame_rate_den = 1;
  /// "auto" (libx264, else mpeg4), or an encoder name: libx264, mpeg4, libx265, libvpx-vp9, ...
  std::string codec = "auto";
  int keyframe_interval = 0;  ///< 0: the encoder's default (x264: 250)
  std::string preset;         ///< x264/x265 preset; empty: the encoder's default (medium)
  std::string tune;           ///< x264/x265 tune, e.g. fastdecode
  std::string x264_params;    ///< extra x264 settings, key=value:key=value
  int quality = -1;           ///< x264/x265 CRF, mpeg4 qscale; -1: a sensible default
  int rotation = 0;           ///< clockwise display rotation written as metadata
  bool faststart = false;     ///< MP4 index at the front of the file
  int threads = 1;
};

/// The encoder "auto" stands for in this FFmpeg build.
std::string default_video_encoder();
/// Whether this FFmpeg build has an encoder of that name.
bool has_video_encoder(const std::string& name);

class video_encoder {
 public:
  /// Opens `path` for writing; the container comes from `container_hint`'s extension (path's
  /// if empty), so that a temporary name can be written and renamed when complete.
  video_encoder(std::string path, encoder_settings settings,
                const std::string& container_hint = {});
  ~video_encoder();
  video_encoder(const video_encoder&) = delete;
  video_encoder& operator=(const video_encoder&) = delete;

  /// Encodes packed RGB (settings' width x height) at timestamp `pts` (settings' time base). The
  /// buffer must extend 64 bytes past the last row: swscale's SIMD code reads that far.
  void write_rgb(const std::uint8_t* rgb, int stride, std::int64_t pts);
  /// Encodes a frame of any size and format, scaled to the settings' size.
  void write_frame(const AVFrame& frame, std::int64_t pts);
  /// Flushes the encoder and writes the trailer; without it the file is incomplete.
  void finish();

  const std::string& codec_name() const noexcept { return codec_name_; }

 private:
  void encode(AVFrame* frame);
  void fail(const std::string& message) const;

  std::string path_;
  encoder_settings settings_;
  std::string codec_name_;
  ffmpeg::output_format format_;
  ffmpeg::codec_context encoder_;
  ffmpeg::frame frame_;
  ffmpeg::packet packet_;
  ffmpeg::scaler scaler_;
  AVStream* stream_ = nullptr;
  std::int64_t last_pts_ = INT64_MIN;
  bool finished_ = false;
};

}  // namespace multigrid::reference
