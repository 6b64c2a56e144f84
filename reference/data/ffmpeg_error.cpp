#include "data/ffmpeg_error.hpp"

extern "C" {
#include <libavutil/error.h>
}

#include "data/ffmpeg_handles.hpp"

namespace multigrid::reference::ffmpeg {

std::string error_text(int code) {
  char buffer[AV_ERROR_MAX_STRING_SIZE] = {};
  if (av_strerror(code, buffer, sizeof buffer) < 0) return "FFmpeg error " + std::to_string(code);
  return buffer;
}

frame make_frame() {
  frame result(av_frame_alloc());
  if (!result) throw std::bad_alloc();
  return result;
}

packet make_packet() {
  packet result(av_packet_alloc());
  if (!result) throw std::bad_alloc();
  return result;
}

}  // namespace multigrid::reference::ffmpeg
