#include "data/video_encoder.hpp"

extern "C" {
#include <libavutil/opt.h>
}

#include <algorithm>
#include <stdexcept>

#include "data/ffmpeg_compat.hpp"
#include "data/ffmpeg_error.hpp"

namespace multigrid::reference {

bool has_video_encoder(const std::string& name) {
  const AVCodec* codec = avcodec_find_encoder_by_name(name.c_str());
  return codec != nullptr && codec->type == AVMEDIA_TYPE_VIDEO;
}

std::string default_video_encoder() {
  return has_video_encoder("libx264") ? "libx264" : "mpeg4";
}

void video_encoder::fail(const std::string& message) const {
  throw std::runtime_error(path_ + ": " + message);
}

video_encoder::video_encoder(std::string path, encoder_settings settings,
                             const std::string& container_hint)
    : path_(std::move(path)),
      settings_(std::move(settings)),
      frame_(ffmpeg::make_frame()),
      packet_(ffmpeg::make_packet()) {
  codec_name_ = settings_.codec == "auto" || settings_.codec.empty() ? default_video_encoder()
                                                                     : settings_.codec;
  const AVCodec* codec = avcodec_find_encoder_by_name(codec_name_.c_str());
  if (codec == nullptr) fail("this FFmpeg build has no `" + codec_name_ + "` encoder");
  if (settings_.width <= 0 || settings_.height <= 0) fail("the frame size must be positive");

  AVFormatContext* raw = nullptr;
  const std::string& hint = container_hint.empty() ? path_ : container_hint;
  int rc = avformat_alloc_output_context2(&raw, nullptr, nullptr, hint.c_str());
  if (rc < 0 || raw == nullptr)
    fail("no container format for `" + hint + "` (" + ffmpeg::error_text(rc) + ")");
  format_.reset(raw);
  // The muxer reopens its url to move the index to the front (faststart): the file really written.
  av_free(format_->url);
  format_->url = av_strdup(path_.c_str());
  if (format_->url == nullptr) throw std::bad_alloc();

  encoder_.reset(avcodec_alloc_context3(codec));
  if (!encoder_) throw std::bad_alloc();
  auto* context = encoder_.get();
  context->width = settings_.width;
  context->height = settings_.height;
  context->time_base = {settings_.time_base_num, settings_.time_base_den};
  context->framerate = {settings_.frame_rate_num, settings_.frame_rate_den};
  context->pix_fmt = AV_PIX_FMT_YUV420P;
  context->thread_count = settings_.threads;
  if (settings_.keyframe_interval > 0) {
    context->gop_size = settings_.keyframe_interval;
    context->keyint_min = std::min(settings_.keyframe_interval, 25);
  }
  if (codec_name_ == "libx264" || codec_name_ == "libx265") {
    if (!settings_.preset.empty())
      av_opt_set(context->priv_data, "preset", settings_.preset.c_str(), 0);
    if (!settings_.tune.empty() && settings_.tune != "none") {
      av_opt_set(context->priv_data, "tune", settings_.tune.c_str(), 0);
    }
    if (settings_.quality >= 0) av_opt_set_double(context->priv_data, "crf", settings_.quality, 0);
    if (codec_name_ == "libx264" && !settings_.x264_params.empty()) {
      av_opt_set(context->priv_data, "x264-params", settings_.x264_params.c_str(), 0);
    }
    if (codec_name_ == "libx265")
      av_opt_set(context->priv_data, "x265-params", "log-level=error", 0);
  } else if (codec_name_ == "libvpx-vp9") {
    av_opt_set_int(context->priv_data, "crf", settings_.quality >= 0 ? settings_.quality : 32, 0);
    context->bit_rate = 0;
    av_opt_set_int(context->priv_data, "cpu-used", 8, 0);
    av_opt_set(context->priv_data, "deadline", "realtime", 0);
  } else {
    // FFmpeg's own encoders default to a low fixed bit rate; a fixed quantiser looks right at
    // every size.
    context->flags |= AV_CODEC_FLAG_QSCALE;
    context->global_quality = FF_QP2LAMBDA * (settings_.quality >= 0 ? settings_.quality : 4);
    if (settings_.keyframe_interval <= 0) context->gop_size = 250;
  }
  if (format_->oformat->flags & AVFMT_GLOBALHEADER) context->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
  rc = avcodec_open2(context, codec, nullptr);
  if (rc < 0) {
    fail("cannot open the " + codec_name_ + " encoder for " + std::to_string(settings_.width) +
         "x" + std::to_string(settings_.height) + " (" + ffmpeg::error_text(rc) + ")");
  }

  stream_ = avformat_new_stream(format_.get(), nullptr);
  if (stream_ == nullptr) throw std::bad_alloc();
  stream_->time_base = context->time_base;
  stream_->avg_frame_rate = context->framerate;
  rc = avcodec_parameters_from_context(stream_->codecpar, context);
  if (rc < 0) fail("cannot describe the stream (" + ffmpeg::error_text(rc) + ")");
  if (settings_.rotation % 360 != 0 && !ffmpeg::set_display_rotation(stream_, settings_.rotation)) {
    throw std::bad_alloc();
  }
  if (!(format_->oformat->flags & AVFMT_NOFILE)) {
    rc = avio_open(&format_->pb, path_.c_str(), AVIO_FLAG_WRITE);
    if (rc < 0) fail("cannot create the file (" + ffmpeg::error_text(rc) + ")");
  }
  AVDictionary* options = nullptr;
  if (settings_.faststart) av_dict_set(&options, "movflags", "+faststart", 0);
  rc = avformat_write_header(format_.get(), &options);
  av_dict_free(&options);
  if (rc < 0) fail("cannot write the header (" + ffmpeg::error_text(rc) + ")");

  frame_->format = context->pix_fmt;
  frame_->width = context->width;
  frame_->height = context->height;
  rc = av_frame_get_buffer(frame_.get(), 0);
  if (rc < 0) throw std::bad_alloc();
}

video_encoder::~video_encoder() = default;

void video_encoder::write_rgb(const std::uint8_t* rgb, int stride, std::int64_t pts) {
  scaler_.reset(sws_getCachedContext(scaler_.release(), settings_.width, settings_.height,
                                     AV_PIX_FMT_RGB24, settings_.width, settings_.height,
                                     AV_PIX_FMT_YUV420P, SWS_BILINEAR, nullptr, nullptr, nullptr));
  if (!scaler_) fail("cannot convert RGB frames");
  if (av_frame_make_writable(frame_.get()) < 0) throw std::bad_alloc();
  const std::uint8_t* planes[1] = {rgb};
  const int strides[1] = {stride};
  sws_scale(scaler_.get(), planes, strides, 0, settings_.height, frame_->data, frame_->linesize);
  frame_->pts = pts;
  encode(frame_.get());
}

void video_encoder::write_frame(const AVFrame& source, std::int64_t pts) {
  scaler_.reset(sws_getCachedContext(scaler_.release(), source.width, source.height,
                                     static_cast<AVPixelFormat>(source.format), settings_.width,
                                     settings_.height, AV_PIX_FMT_YUV420P, SWS_BICUBIC, nullptr,
                                     nullptr, nullptr));
  if (!scaler_) fail("cannot convert frames of pixel format " + std::to_string(source.format));
  if (av_frame_make_writable(frame_.get()) < 0) throw std::bad_alloc();
  sws_scale(scaler_.get(), source.data, source.linesize, 0, source.height, frame_->data,
            frame_->linesize);
  frame_->pts = pts;
  encode(frame_.get());
}

void video_encoder::encode(AVFrame* frame) {
  if (frame != nullptr) {
    // Encoders reject timestamps that do not increase (duplicates occur in broken sources).
    if (frame->pts <= last_pts_) frame->pts = last_pts_ + 1;
    last_pts_ = frame->pts;
  }
  int rc = avcodec_send_frame(encoder_.get(), frame);
  if (rc < 0) fail("encoding failed (" + ffmpeg::error_text(rc) + ")");
  while (true) {
    rc = avcodec_receive_packet(encoder_.get(), packet_.get());
    if (rc == AVERROR(EAGAIN) || rc == AVERROR_EOF) return;
    if (rc < 0) fail("encoding failed (" + ffmpeg::error_text(rc) + ")");
    av_packet_rescale_ts(packet_.get(), encoder_->time_base, stream_->time_base);
    packet_->stream_index = stream_->index;
    rc = av_interleaved_write_frame(format_.get(), packet_.get());
    if (rc < 0) fail("cannot write a packet (" + ffmpeg::error_text(rc) + ")");
  }
}

void video_encoder::finish() {
  if (finished_) return;
  encode(nullptr);
  const int rc = av_write_trailer(format_.get());
  if (rc < 0) fail("cannot write the trailer (" + ffmpeg::error_text(rc) + ")");
  finished_ = true;
}

}  // namespace multigrid::reference
