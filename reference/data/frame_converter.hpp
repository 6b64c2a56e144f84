#pragma once
// Turns one decoded frame into one frame of a clip: colour conversion and scaling to the jittered
// size in a single swscale pass straight to planar RGB (swscale's GBRP, faster than packed RGB
// when scaling), then the crop, the horizontal flip and the display rotation while copying rows
// into the clip's layout (3 x T x S x S, uint8). Only frames that a clip samples ever reach it.
// A frame that needs no scaling is converted to packed RGB24 instead, as PyAV's to_rgb() does,
// so that its colours are PySlowFast's to the bit.
//
// When the crop is less than half of the scaled frame, only the part of the frame under the crop
// (plus the filter's reach) is scaled: the scale factor then differs from the exact one by less
// than one pixel over the frame, and the crop lands within a pixel of where it would have.

#include <cstdint>
#include <vector>

#include "data/ffmpeg_handles.hpp"
#include "data/spatial_sampling.hpp"

namespace multigrid::reference {

/// Where a clip's pixels come from, in display orientation.
struct clip_geometry {
  frame_size scaled;  ///< the whole frame after scaling its short side
  crop_box crop;      ///< inside `scaled`
  bool flip = false;  ///< mirror left and right after cropping
};

/// Seconds spent in each step, summed over calls.
struct conversion_timings {
  double convert_seconds = 0;  ///< colour conversion and scaling (swscale)
  double augment_seconds = 0;  ///< crop, flip and rotation into the clip layout
  std::int64_t frames_converted = 0;
};

class frame_converter {
 public:
  /// Writes the crop of `frame` into three planes of crop.size x crop.size bytes (red, green,
  /// blue). `frame_id` identifies the decoded frame: asking again for the same frame at the same
  /// scaled size (another crop of a test view, a repeated last frame) reuses the conversion.
  void convert(const AVFrame& frame, std::uint64_t frame_id, int rotation,
               const clip_geometry& geometry, std::uint8_t* red, std::uint8_t* green,
               std::uint8_t* blue, conversion_timings& timings);

 private:
  /// A rectangle of the decoded frame, in stored pixels.
  struct source_window {
    int x = 0, y = 0, width = 0, height = 0;
    friend bool operator==(const source_window& a, const source_window& b) noexcept {
      return a.x == b.x && a.y == b.y && a.width == b.width && a.height == b.height;
    }
  };
  void scale(const AVFrame& frame, const source_window& window, int width, int height);

  /// Scalers by (source size and format, output size): setting one up costs about as much as
  /// converting several frames, and clips of the same jittered size recur.
  struct cached_scaler {
    int source_width = 0, source_height = 0, format = -1, width = 0, height = 0;
    int target_format = -1;
    std::uint64_t last_use = 0;
    ffmpeg::scaler scaler;
  };
  static constexpr std::size_t scaler_cache_size = 64;
  SwsContext* scaler_for(int source_width, int source_height, int format, int width, int height,
                         int target_format);
  std::vector<cached_scaler> scalers_;
  std::uint64_t scaler_uses_ = 0;
  std::vector<std::uint8_t> storage_;
  std::vector<std::uint8_t> packed_;  ///< RGB24 rows of an unscaled frame
  std::uint8_t* planes_[3] = {};      ///< the scaled frame, coded orientation: red, green, blue
  int stride_ = 0;
  int scaled_width_ = 0;
  int scaled_height_ = 0;
  source_window scaled_window_;
  std::uint64_t converted_frame_ = ~std::uint64_t{0};
};

}  // namespace multigrid::reference
