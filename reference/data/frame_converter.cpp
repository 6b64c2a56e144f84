#include "data/frame_converter.hpp"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <stdexcept>
#include <string>

namespace multigrid::reference {
namespace {

using clock_type = std::chrono::steady_clock;

double seconds_since(clock_type::time_point start) {
  return std::chrono::duration<double>(clock_type::now() - start).count();
}

/// Copies one row, mirrored when asked.
void copy_row(const std::uint8_t* from, int width, bool mirror, std::uint8_t* to) {
  if (!mirror) {
    std::memcpy(to, from, static_cast<std::size_t>(width));
  } else {
    std::reverse_copy(from, from + width, to);
  }
}

}  // namespace

void frame_converter::scale(const AVFrame& frame, int width, int height) {
  scaler_.reset(sws_getCachedContext(scaler_.release(), frame.width, frame.height,
                                     static_cast<AVPixelFormat>(frame.format), width, height,
                                     AV_PIX_FMT_GBRP, SWS_BILINEAR, nullptr, nullptr, nullptr));
  if (!scaler_) {
    throw std::runtime_error("cannot convert " + std::to_string(frame.width) + "x" +
                             std::to_string(frame.height) + " frames of pixel format " +
                             std::to_string(frame.format) + " to RGB");
  }
  // Rows aligned to 64 bytes keep swscale on its SIMD paths.
  const int stride = (width + 63) / 64 * 64;
  const std::size_t plane = static_cast<std::size_t>(stride) * static_cast<std::size_t>(height);
  if (storage_.size() < 3 * plane + 64) storage_.resize(3 * plane + 64);
  const auto address = reinterpret_cast<std::uintptr_t>(storage_.data());
  std::uint8_t* base = storage_.data() + ((64 - address % 64) % 64);
  planes_[0] = base;
  planes_[1] = base + plane;
  planes_[2] = base + 2 * plane;
  stride_ = stride;
  // GBRP's planes are green, blue, red.
  std::uint8_t* targets[4] = {planes_[1], planes_[2], planes_[0], nullptr};
  int strides[4] = {stride, stride, stride, 0};
  sws_scale(scaler_.get(), frame.data, frame.linesize, 0, frame.height, targets, strides);
  scaled_width_ = width;
  scaled_height_ = height;
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
  if (frame_id != converted_frame_ || width != scaled_width_ || height != scaled_height_) {
    scale(frame, width, height);
    converted_frame_ = frame_id;
    timings.convert_seconds += seconds_since(start);
    ++timings.frames_converted;
    start = clock_type::now();
  }

  const int size = crop.size;
  std::uint8_t* outputs[3] = {red, green, blue};
  for (int c = 0; c < 3; ++c) {
    const std::uint8_t* plane = planes_[c];
    std::uint8_t* out = outputs[c];
    if (rotation == 0) {
      for (int y = 0; y < size; ++y) {
        copy_row(plane + static_cast<std::ptrdiff_t>(crop.y + y) * stride_ + crop.x, size,
                 geometry.flip, out + static_cast<std::ptrdiff_t>(y) * size);
      }
      continue;
    }
    // Display pixel (X, Y) comes from stored pixel (cx, cy) of the picture turned clockwise.
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
        out[static_cast<std::ptrdiff_t>(y) * size + x] = plane[static_cast<std::ptrdiff_t>(cy) * stride_ + cx];
      }
    }
  }
  timings.augment_seconds += seconds_since(start);
}

}  // namespace multigrid::reference
