#pragma once
// Owning handles for the FFmpeg objects the data pipeline uses. Each FFmpeg type has its own free
// function (some take a pointer to the pointer); wrapping them in unique_ptr once means no code
// path, early return or exception can leak a context, a frame or a packet.

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libswscale/swscale.h>
}

#include <memory>

namespace multigrid::reference::ffmpeg {

struct input_format_deleter {
  void operator()(AVFormatContext* context) const noexcept { avformat_close_input(&context); }
};
struct output_format_deleter {
  void operator()(AVFormatContext* context) const noexcept {
    if (context == nullptr) return;
    if (context->pb != nullptr && !(context->oformat->flags & AVFMT_NOFILE)) {
      avio_closep(&context->pb);
    }
    avformat_free_context(context);
  }
};
struct codec_context_deleter {
  void operator()(AVCodecContext* context) const noexcept { avcodec_free_context(&context); }
};
struct frame_deleter {
  void operator()(AVFrame* frame) const noexcept { av_frame_free(&frame); }
};
struct packet_deleter {
  void operator()(AVPacket* packet) const noexcept { av_packet_free(&packet); }
};
struct scaler_deleter {
  void operator()(SwsContext* context) const noexcept { sws_freeContext(context); }
};

using input_format = std::unique_ptr<AVFormatContext, input_format_deleter>;
using output_format = std::unique_ptr<AVFormatContext, output_format_deleter>;
using codec_context = std::unique_ptr<AVCodecContext, codec_context_deleter>;
using frame = std::unique_ptr<AVFrame, frame_deleter>;
using packet = std::unique_ptr<AVPacket, packet_deleter>;
using scaler = std::unique_ptr<SwsContext, scaler_deleter>;

/// A new frame or packet; throws std::bad_alloc when FFmpeg cannot allocate one.
frame make_frame();
packet make_packet();

}  // namespace multigrid::reference::ffmpeg
