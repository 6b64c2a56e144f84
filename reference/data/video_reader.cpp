#include "data/video_reader.hpp"

extern "C" {
#include <libavutil/display.h>
#include <libavutil/log.h>
}

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <system_error>

#include "data/ffmpeg_compat.hpp"

namespace multigrid::reference {
namespace {

bool valid_rate(AVRational rate) {
  return rate.num > 0 && rate.den > 0;
}

/// Clockwise rotation for display, snapped to a multiple of 90 degrees; other angles are ignored.
int display_rotation(const AVStream* stream) {
  const std::int32_t* matrix = ffmpeg::display_matrix(stream);
  if (matrix == nullptr) return 0;
  const double counter_clockwise = av_display_rotation_get(matrix);
  if (std::isnan(counter_clockwise)) return 0;
  const double clockwise = -counter_clockwise;
  const double quarter_turns = std::nearbyint(clockwise / 90.0);
  if (std::fabs(clockwise - quarter_turns * 90.0) > 1.0) return 0;
  return static_cast<int>(((static_cast<long>(quarter_turns) % 4) + 4) % 4) * 90;
}

int find_video_stream(const AVFormatContext* format) {
  for (unsigned i = 0; i < format->nb_streams; ++i) {
    const AVStream* stream = format->streams[i];
    // Cover art in audio files is a "video" stream of one picture: not a video.
    if (stream->codecpar->codec_type == AVMEDIA_TYPE_VIDEO &&
        !(stream->disposition & AV_DISPOSITION_ATTACHED_PIC)) {
      return static_cast<int>(i);
    }
  }
  return -1;
}

}  // namespace

void set_ffmpeg_log_level(int level) {
  av_log_set_level(level);
}

int video_reader::interrupt(void* opaque) noexcept {
  const auto* reader = static_cast<const video_reader*>(opaque);
  return std::chrono::steady_clock::now() > reader->deadline_ ? 1 : 0;
}

void video_reader::restart_deadline() noexcept {
  deadline_ = std::chrono::steady_clock::now() +
              std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                  std::chrono::duration<double>(options_.timeout_seconds));
}

void video_reader::fail(const std::string& reason) const {
  throw video_error(path_, reason, opening_);
}

video_reader::video_reader(std::string path, video_reader_options options)
    : path_(std::move(path)),
      options_(options),
      packet_(ffmpeg::make_packet()),
      frame_(ffmpeg::make_frame()) {
  std::error_code error;
  const auto status = std::filesystem::status(path_, error);
  if (!std::filesystem::exists(status)) fail("file does not exist");
  if (std::filesystem::is_directory(status)) fail("is a directory, not a video file");
  if (std::filesystem::is_regular_file(status) && std::filesystem::file_size(path_, error) == 0 &&
      !error) {
    fail("empty file (0 bytes)");
  }

  restart_deadline();
  AVFormatContext* raw = avformat_alloc_context();
  if (raw == nullptr) throw std::bad_alloc();
  raw->interrupt_callback.callback = &video_reader::interrupt;
  raw->interrupt_callback.opaque = this;
  int rc = avformat_open_input(&raw, path_.c_str(), nullptr, nullptr);  // frees raw on failure
  if (rc == AVERROR_EXIT) fail("timed out opening the file");
  if (rc < 0) fail("not a readable video file (" + ffmpeg::error_text(rc) + ")");
  format_.reset(raw);

  stream_index_ = find_video_stream(format_.get());
  const bool header_complete = !(format_->ctx_flags & AVFMTCTX_NOHEADER);
  bool need_stream_info = stream_index_ < 0 ? !header_complete || format_->nb_streams == 0 : false;
  if (stream_index_ >= 0) {
    const AVStream* stream = format_->streams[stream_index_];
    need_stream_info = stream->codecpar->width <= 0 || stream->codecpar->height <= 0 ||
                       (!valid_rate(stream->avg_frame_rate) && !valid_rate(stream->r_frame_rate));
  }
  if (need_stream_info) {
    // Containers without a complete header (MPEG-TS, raw streams) are probed by decoding a little.
    rc = avformat_find_stream_info(format_.get(), nullptr);
    if (rc == AVERROR_EXIT) fail("timed out reading stream information");
    if (rc < 0) fail("cannot read stream information (" + ffmpeg::error_text(rc) + ")");
    stream_index_ = find_video_stream(format_.get());
  }
  if (stream_index_ < 0) fail("no video stream");
  AVStream* stream = format_->streams[stream_index_];
  // Packets of other streams are dropped by the demuxer, not read and thrown away here.
  for (unsigned i = 0; i < format_->nb_streams; ++i) {
    if (static_cast<int>(i) != stream_index_) format_->streams[i]->discard = AVDISCARD_ALL;
  }

  const AVCodec* codec = avcodec_find_decoder(stream->codecpar->codec_id);
  if (codec == nullptr) {
    fail(std::string("no decoder for its ") + avcodec_get_name(stream->codecpar->codec_id) +
         " video stream");
  }
  decoder_.reset(avcodec_alloc_context3(codec));
  if (!decoder_) throw std::bad_alloc();
  rc = avcodec_parameters_to_context(decoder_.get(), stream->codecpar);
  if (rc < 0) fail("bad codec parameters (" + ffmpeg::error_text(rc) + ")");
  decoder_->pkt_timebase = stream->time_base;
  decoder_->thread_count = options_.decoder_threads;
  rc = avcodec_open2(decoder_.get(), codec, nullptr);
  if (rc < 0)
    fail(std::string("cannot open the ") + codec->name + " decoder (" + ffmpeg::error_text(rc) +
         ")");

  info_.codec = codec->name;
  info_.coded_width = stream->codecpar->width;
  info_.coded_height = stream->codecpar->height;
  if (info_.coded_width <= 0 || info_.coded_height <= 0) fail("the video stream has no frame size");
  info_.rotation = display_rotation(stream);
  info_.time_base_num = stream->time_base.num;
  info_.time_base_den = stream->time_base.den;
  if (info_.time_base_num <= 0 || info_.time_base_den <= 0)
    fail("the video stream has no time base");
  info_.start_ticks = stream->start_time != AV_NOPTS_VALUE ? stream->start_time : 0;
  if (stream->duration != AV_NOPTS_VALUE && stream->duration > 0) {
    info_.duration_ticks = stream->duration;
  } else if (format_->duration != AV_NOPTS_VALUE && format_->duration > 0) {
    info_.duration_ticks = av_rescale_q(format_->duration, AV_TIME_BASE_Q, stream->time_base);
  }
  if (valid_rate(stream->avg_frame_rate)) {
    info_.fps = av_q2d(stream->avg_frame_rate);
  } else if (valid_rate(stream->r_frame_rate)) {
    info_.fps = av_q2d(stream->r_frame_rate);
  } else if (stream->nb_frames > 0 && info_.duration_ticks > 0) {
    info_.fps = static_cast<double>(stream->nb_frames) / info_.duration_seconds();
  }
  if (!(info_.fps > 0) || !std::isfinite(info_.fps)) fail("unknown frame rate");
  if (stream->nb_frames > 0) {
    info_.frame_count = stream->nb_frames;
  } else if (info_.duration_ticks > 0) {
    info_.frame_count = std::llround(info_.duration_seconds() * info_.fps);
    info_.frame_count_estimated = true;
  }
  ticks_per_frame_ = std::max<std::int64_t>(
      1, std::llround(info_.time_base_den / (info_.time_base_num * info_.fps)));
  opening_ = false;
}

void video_reader::seek(std::int64_t ticks) {
  restart_deadline();
  if (!packets_read_ && ticks <= 0) return;  // already at the start
  const std::int64_t target = info_.start_ticks + std::max<std::int64_t>(ticks, 0);
  int rc = av_seek_frame(format_.get(), stream_index_, target, AVSEEK_FLAG_BACKWARD);
  if (rc < 0) rc = avformat_seek_file(format_.get(), stream_index_, INT64_MIN, target, target, 0);
  if (rc < 0) {
    fail("cannot seek to " +
         std::to_string(static_cast<double>(ticks) * info_.time_base_num / info_.time_base_den) +
         " s (" + ffmpeg::error_text(rc) + ")");
  }
  avcodec_flush_buffers(decoder_.get());
  av_packet_unref(packet_.get());
  read_ahead_.clear();
  read_ahead_ended_ = false;
  wanted_.clear();
  packets_read_ = true;
  flushing_ = false;
  frames_decoded_ = 0;
  read_error_.clear();
}

bool video_reader::read_packet() {
  if (!read_ahead_.empty()) {
    av_packet_move_ref(packet_.get(), read_ahead_.front().get());
    read_ahead_.pop_front();
    return true;
  }
  if (read_ahead_ended_) return false;
  while (true) {
    const int rc = av_read_frame(format_.get(), packet_.get());
    packets_read_ = true;
    if (rc < 0) {
      if (rc == AVERROR_EXIT) fail("timed out reading the file");
      if (rc != AVERROR_EOF) read_error_ = ffmpeg::error_text(rc);
      return false;
    }
    if (packet_->stream_index == stream_index_) return true;
    av_packet_unref(packet_.get());
  }
}

std::optional<std::vector<std::int64_t>> video_reader::scan_ahead(std::int64_t ticks, int extra) {
  std::vector<std::int64_t> timestamps;
  bool missing = false;
  int after = -1;  // packets read since the first one stamped after `ticks`
  for (const auto& queued : read_ahead_) {
    if (queued->pts == AV_NOPTS_VALUE) {
      missing = true;
      continue;
    }
    const std::int64_t time = queued->pts - info_.start_ticks;
    timestamps.push_back(time);
    if (after >= 0) ++after;
    if (after < 0 && time > ticks) after = 0;
  }
  while (!read_ahead_ended_ && after < extra) {
    int rc = 0;
    auto packet = ffmpeg::make_packet();
    while (true) {
      rc = av_read_frame(format_.get(), packet.get());
      packets_read_ = true;
      if (rc < 0 || packet->stream_index == stream_index_) break;
      av_packet_unref(packet.get());
    }
    if (rc < 0) {
      if (rc == AVERROR_EXIT) fail("timed out reading the file");
      if (rc != AVERROR_EOF) read_error_ = ffmpeg::error_text(rc);
      read_ahead_ended_ = true;
      break;
    }
    if (packet->pts == AV_NOPTS_VALUE) {
      missing = true;
    } else {
      const std::int64_t time = packet->pts - info_.start_ticks;
      timestamps.push_back(time);
      if (after >= 0) ++after;
      if (after < 0 && time > ticks) after = 0;
    }
    read_ahead_.push_back(std::move(packet));
  }
  if (missing) return std::nullopt;
  return timestamps;
}

bool video_reader::wanted(std::int64_t ticks) const {
  if (wanted_.empty()) return ticks >= discard_before_;
  if (ticks > wanted_.back()) return true;
  return std::binary_search(wanted_.begin(), wanted_.end(), ticks);
}

bool video_reader::send_next_packet() {
  if (!read_packet()) {
    flushing_ = true;
    avcodec_send_packet(decoder_.get(), nullptr);  // drain the frames still in the decoder
    return false;
  }
  const std::int64_t packet_ticks = packet_->pts;
  const bool skippable =
      packet_ticks != AV_NOPTS_VALUE && !wanted(packet_ticks - info_.start_ticks);
  decoder_->skip_frame = skippable ? AVDISCARD_NONREF : AVDISCARD_DEFAULT;
  const int rc = avcodec_send_packet(decoder_.get(), packet_.get());
  av_packet_unref(packet_.get());
  if (rc < 0) {
    const double seconds = packet_ticks == AV_NOPTS_VALUE
                               ? -1.0
                               : static_cast<double>(packet_ticks - info_.start_ticks) *
                                     info_.time_base_num / info_.time_base_den;
    fail("decoding error" +
         (seconds >= 0 ? " at " + std::to_string(seconds) + " s" : std::string()) + " (" +
         ffmpeg::error_text(rc) + ")");
  }
  return true;
}

AVFrame* video_reader::next_frame() {
  while (true) {
    const int rc = avcodec_receive_frame(decoder_.get(), frame_.get());
    if (rc == 0) {
      const std::int64_t timestamp = frame_->best_effort_timestamp;
      last_ticks_ = timestamp != AV_NOPTS_VALUE
                        ? timestamp - info_.start_ticks
                        : (frames_decoded_ == 0 ? 0 : last_ticks_ + ticks_per_frame_);
      ++frames_decoded_;
      return frame_.get();
    }
    if (rc == AVERROR_EOF) return nullptr;
    if (rc != AVERROR(EAGAIN)) fail("decoding failed (" + ffmpeg::error_text(rc) + ")");
    if (flushing_) return nullptr;  // a decoder that neither drains nor ends: treat as the end
    send_next_packet();
  }
}

}  // namespace multigrid::reference
