#pragma once
// The one place where FFmpeg versions differ. The reference builds against FFmpeg 5.1 (Debian 12)
// and against newer releases; stream side data moved from AVStream to AVCodecParameters in
// FFmpeg 6.1 (libavformat 60.15), and the old accessors are deprecated there.

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/display.h>
}

#include <cstdint>
#include <cstring>

#define MULTIGRID_FFMPEG_CODED_SIDE_DATA (LIBAVFORMAT_VERSION_INT >= AV_VERSION_INT(60, 15, 100))

namespace multigrid::reference::ffmpeg {

/// The stream's display matrix (nine int32 values), or nullptr when it has none.
inline const std::int32_t* display_matrix(const AVStream* stream) {
#if MULTIGRID_FFMPEG_CODED_SIDE_DATA
  const AVPacketSideData* side =
      av_packet_side_data_get(stream->codecpar->coded_side_data,
                              stream->codecpar->nb_coded_side_data, AV_PKT_DATA_DISPLAYMATRIX);
  if (side == nullptr || side->size < 9 * sizeof(std::int32_t)) return nullptr;
  return reinterpret_cast<const std::int32_t*>(side->data);
#else
  std::size_t size = 0;
  const std::uint8_t* data = av_stream_get_side_data(stream, AV_PKT_DATA_DISPLAYMATRIX, &size);
  if (data == nullptr || size < 9 * sizeof(std::int32_t)) return nullptr;
  return reinterpret_cast<const std::int32_t*>(data);
#endif
}

/// Attaches a display matrix that rotates the picture `clockwise_degrees` for display (what a
/// phone writes for a portrait video). Returns false when FFmpeg cannot allocate it.
inline bool set_display_rotation(AVStream* stream, double clockwise_degrees) {
  std::int32_t matrix[9];
  // av_display_rotation_get(av_display_rotation_set(a)) == -a: the setter's angle is the
  // clockwise one that players apply (the same matrix the ffmpeg tool writes for rotate=90).
  av_display_rotation_set(matrix, clockwise_degrees);
#if MULTIGRID_FFMPEG_CODED_SIDE_DATA
  AVPacketSideData* side = av_packet_side_data_new(&stream->codecpar->coded_side_data,
                                                   &stream->codecpar->nb_coded_side_data,
                                                   AV_PKT_DATA_DISPLAYMATRIX, sizeof matrix, 0);
  if (side == nullptr) return false;
  std::memcpy(side->data, matrix, sizeof matrix);
#else
  std::uint8_t* data = av_stream_new_side_data(stream, AV_PKT_DATA_DISPLAYMATRIX, sizeof matrix);
  if (data == nullptr) return false;
  std::memcpy(data, matrix, sizeof matrix);
#endif
  return true;
}

}  // namespace multigrid::reference::ffmpeg
