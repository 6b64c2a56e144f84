#include "data/frame_converter.hpp"

#include <chrono>
#include <stdexcept>
#include <string>

namespace multigrid::reference {
namespace {

using clock_type = std::chrono::steady_clock;

double seconds_since(clock_type::time_point start) {
  return std::chrono::duration<double>(clock_type::now() - start).count();
}

/// Copies one row of packed RGB into three planes, optionally mirrored.
void split_row(const std::uint8_t* rgb, int width, bool mirror, std::uint8_t* red,
               std::uint8_t* green, std::uint8_t* blue) {
  if (!mirror) {
    for (int x = 0; x < width; ++x) {
      red[x] = rgb[3 * x];
      green[x] = rgb[3 * x + 1];
      blue[x] = rgb[3 * x + 2];
    }
  } else {
    for (int x = 0; x < width; ++x) {
      const int from = width - 1 - x;
      red[x] = rgb[3 * from];
      green[x] = rgb[3 * from + 1];
      blue[x] = rgb[3 * from + 2];
    }
  }
}

}  // namespace

void frame_converter::scale(const AVFrame& frame, int width, int height) {
  scaler_.reset(sws_getCachedContext(scaler_.release(), frame.width, frame.height,
                                     static_cast<AVPixelFormat>(frame.format), width, height,
                                     AV_PIX_FMT_RGB24, SWS_BILINEAR, nullptr, nullptr, nullptr));
  if (!scaler_) {
    throw std::runtime_error("cannot convert " + std::to_string(frame.width) + "x" +
                             std::to_string(frame.height) + " frames of pixel format " +
                             std::to_string(frame.format) + " to RGB");
  }
  // Rows aligned to 64 bytes keep swscale on its SIMD paths.
  const int stride = (width * 3 + 63) / 64 * 64;
  const std::size_t bytes = static_cast<std::size_t>(stride) * static_cast<std::size_t>(height) + 64;
  if (storage_.size() < bytes) storage_.resize(bytes);
  const auto address = reinterpret_cast<std::uintptr_t>(storage_.data());
  rgb_ = storage_.data() + ((64 - address % 64) % 64);
  rgb_stride_ = stride;
  std::uint8_t* planes[4] = {rgb_, nullptr, nullptr, nullptr};
  int strides[4] = {stride, 0, 0, 0};
  sws_scale(scaler_.get(), frame.data, frame.linesize, 0, frame.height, planes, strides);
  rgb_width_ = width;
  rgb_height_ = height;
}

void frame_converter::convert(const AVFrame& frame, std::uint64_t frame_id, int rotation,
                              const clip_geometry& geometry, std::uint8_t* red,
                              std::uint8_t* green, std::uint8_t* blue,
                              conversion_timings& timings) {
  const bool sideways = rotation == 90 || rotation == 270;
  const int width = sideways ? geometry.scaled.height : geometry.scaled.width;
  const int height = sideways ? geometry.scaled.width : geometry.scaled.height;
  const auto& crop = geometry.crop;
  if (crop.x < 0 || crop.y < 0 || crop.x + crop.size > geometry.scaled.width ||
      crop.y + crop.size > geometry.scaled.height) {
    throw std::logic_error("frame_converter: crop outside the scaled frame");
  }

  auto start = clock_type::now();
  if (frame_id != converted_frame_ || width != rgb_width_ || height != rgb_height_) {
    scale(frame, width, height);
    converted_frame_ = frame_id;
    timings.convert_seconds += seconds_since(start);
    ++timings.frames_converted;
    start = clock_type::now();
  }

  const int size = crop.size;
  if (rotation == 0) {
    for (int y = 0; y < size; ++y) {
      const std::uint8_t* row = rgb_ + static_cast<std::ptrdiff_t>(crop.y + y) * rgb_stride_ + 3 * crop.x;
      const std::ptrdiff_t out = static_cast<std::ptrdiff_t>(y) * size;
      split_row(row, size, geometry.flip, red + out, green + out, blue + out);
    }
  } else {
    // Display pixel (X, Y) comes from coded pixel (cx, cy) of the picture rotated clockwise.
    for (int y = 0; y < size; ++y) {
      for (int x = 0; x < size; ++x) {
        const int display_x = crop.x + (geometry.flip ? size - 1 - x : x);
        const int display_y = crop.y + y;
        int cx = display_x;
        int cy = display_y;
        if (rotation == 90) {
          cx = display_y;
          cy = height - 1 - display_x;
        } else if (rotation == 180) {
          cx = width - 1 - display_x;
          cy = height - 1 - display_y;
        } else if (rotation == 270) {
          cx = width - 1 - display_y;
          cy = display_x;
        }
        const std::uint8_t* pixel = rgb_ + static_cast<std::ptrdiff_t>(cy) * rgb_stride_ + 3 * cx;
        const std::ptrdiff_t out = static_cast<std::ptrdiff_t>(y) * size + x;
        red[out] = pixel[0];
        green[out] = pixel[1];
        blue[out] = pixel[2];
      }
    }
  }
  timings.augment_seconds += seconds_since(start);
}

}  // namespace multigrid::reference
