#pragma once
// What the container says about a video stream: enough to choose a clip without decoding.

#include <cstdint>
#include <string>

#include "data/spatial_sampling.hpp"

namespace multigrid::reference {

struct video_info {
  std::string codec;    ///< decoder name, e.g. "h264"
  int coded_width = 0;  ///< as stored
  int coded_height = 0;
  int rotation = 0;              ///< clockwise degrees to display it upright: 0, 90, 180 or 270
  double fps = 0;                ///< average frame rate (PyAV's average_rate)
  std::int64_t frame_count = 0;  ///< from the container, else estimated from the duration
  bool frame_count_estimated = false;
  std::int64_t duration_ticks = 0;  ///< in time_base units; 0 when unknown
  int time_base_num = 1;
  int time_base_den = 1;
  std::int64_t start_ticks = 0;  ///< timestamp of the first frame

  /// The size as displayed (rotation applied).
  frame_size display_size() const noexcept {
    return rotation == 90 || rotation == 270 ? frame_size{coded_height, coded_width}
                                             : frame_size{coded_width, coded_height};
  }
  double duration_seconds() const noexcept {
    return static_cast<double>(duration_ticks) * time_base_num / time_base_den;
  }
  /// Clips can be chosen by timestamp (PySlowFast's selective decoding); otherwise frames are
  /// counted from the start of the stream.
  bool has_timestamps() const noexcept { return duration_ticks > 0 && frame_count > 0; }
};

}  // namespace multigrid::reference
