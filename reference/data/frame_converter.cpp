#include "data/frame_converter.hpp"

extern "C" {
#include <libavutil/pixdesc.h>
}

#include <algorithm>
#include <chrono>
#include <cmath>
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

/// Whether a pixel format's planes can be addressed at an offset (planar or simply packed).
bool windowable(int format) {
  const AVPixFmtDescriptor* descriptor = av_pix_fmt_desc_get(static_cast<AVPixelFormat>(format));
  return descriptor != nullptr &&
         !(descriptor->flags &
           (AV_PIX_FMT_FLAG_BITSTREAM | AV_PIX_FMT_FLAG_PAL | AV_PIX_FMT_FLAG_HWACCEL));
}

/// Pointers to pixel (x, y) in each plane; x and y must be multiples of the chroma subsampling.
void window_planes(const AVFrame& frame, int x, int y, const std::uint8_t* planes[4]) {
  const AVPixFmtDescriptor* descriptor =
      av_pix_fmt_desc_get(static_cast<AVPixelFormat>(frame.format));
  const bool rgb = descriptor->flags & AV_PIX_FMT_FLAG_RGB;
  for (int p = 0; p < 4; ++p) planes[p] = frame.data[p];
  bool done[4] = {false, false, false, false};
  for (int c = 0; c < descriptor->nb_components; ++c) {
    const auto& component = descriptor->comp[c];
    if (done[component.plane]) continue;
    done[component.plane] = true;
    const bool chroma = !rgb && (c == 1 || c == 2);
    const int shift_x = chroma ? descriptor->log2_chroma_w : 0;
    const int shift_y = chroma ? descriptor->log2_chroma_h : 0;
    planes[component.plane] =
        frame.data[component.plane] +
        static_cast<std::ptrdiff_t>(y >> shift_y) * frame.linesize[component.plane] +
        static_cast<std::ptrdiff_t>(x >> shift_x) * component.step;
  }
}

}  // namespace

SwsContext* frame_converter::scaler_for(int source_width, int source_height, int format, int width,
                                        int height, int target_format) {
  ++scaler_uses_;
  cached_scaler* oldest = nullptr;
  for (auto& entry : scalers_) {
    if (entry.source_width == source_width && entry.source_height == source_height &&
        entry.format == format && entry.width == width && entry.height == height &&
        entry.target_format == target_format) {
      entry.last_use = scaler_uses_;
      return entry.scaler.get();
    }
    if (oldest == nullptr || entry.last_use < oldest->last_use) oldest = &entry;
  }
  ffmpeg::scaler created(sws_getContext(
      source_width, source_height, static_cast<AVPixelFormat>(format), width, height,
      static_cast<AVPixelFormat>(target_format), SWS_BILINEAR, nullptr, nullptr, nullptr));
  if (!created) {
    throw std::runtime_error("cannot convert " + std::to_string(source_width) + "x" +
                             std::to_string(source_height) + " frames of pixel format " +
                             std::to_string(format) + " to RGB");
  }
  cached_scaler* slot = oldest;
  if (scalers_.size() < scaler_cache_size) {
    scalers_.emplace_back();
    slot = &scalers_.back();
  }
  *slot = {source_width, source_height, format,       width,
           height,       target_format, scaler_uses_, std::move(created)};
  return slot->scaler.get();
}

void frame_converter::scale(const AVFrame& frame, const source_window& window, int width,
                            int height) {
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
  const std::uint8_t* sources[4];
  window_planes(frame, window.x, window.y, sources);
  if (width == window.width && height == window.height) {
    // Nothing to scale: packed RGB24 with the bilinear flag, exactly as PyAV's to_rgb(), whose
    // colours PySlowFast trains on. swscale interpolates chroma differently for planar RGB (2 to
    // 4 grey levels apart on average), so the planes are split from the packed rows here.
    SwsContext* scaler =
        scaler_for(window.width, window.height, frame.format, width, height, AV_PIX_FMT_RGB24);
    const int packed_stride = (3 * width + 63) / 64 * 64;
    const std::size_t packed_size =
        static_cast<std::size_t>(packed_stride) * static_cast<std::size_t>(height) + 64;
    if (packed_.size() < packed_size) packed_.resize(packed_size);
    const auto packed_address = reinterpret_cast<std::uintptr_t>(packed_.data());
    std::uint8_t* packed = packed_.data() + ((64 - packed_address % 64) % 64);
    std::uint8_t* targets[4] = {packed, nullptr, nullptr, nullptr};
    int strides[4] = {packed_stride, 0, 0, 0};
    sws_scale(scaler, sources, frame.linesize, 0, window.height, targets, strides);
    for (int y = 0; y < height; ++y) {
      const std::uint8_t* row = packed + static_cast<std::ptrdiff_t>(y) * packed_stride;
      std::uint8_t* red = planes_[0] + static_cast<std::ptrdiff_t>(y) * stride;
      std::uint8_t* green = planes_[1] + static_cast<std::ptrdiff_t>(y) * stride;
      std::uint8_t* blue = planes_[2] + static_cast<std::ptrdiff_t>(y) * stride;
      for (int x = 0; x < width; ++x) {
        red[x] = row[3 * x];
        green[x] = row[3 * x + 1];
        blue[x] = row[3 * x + 2];
      }
    }
  } else {
    SwsContext* scaler =
        scaler_for(window.width, window.height, frame.format, width, height, AV_PIX_FMT_GBRP);
    // GBRP's planes are green, blue, red.
    std::uint8_t* targets[4] = {planes_[1], planes_[2], planes_[0], nullptr};
    int strides[4] = {stride, stride, stride, 0};
    sws_scale(scaler, sources, frame.linesize, 0, window.height, targets, strides);
  }
  scaled_width_ = width;
  scaled_height_ = height;
  scaled_window_ = window;
}

void frame_converter::convert(const AVFrame& frame, std::uint64_t frame_id, int rotation,
                              const clip_geometry& geometry, std::uint8_t* red, std::uint8_t* green,
                              std::uint8_t* blue, conversion_timings& timings) {
  const bool sideways = rotation == 90 || rotation == 270;
  const int width = sideways ? geometry.scaled.height : geometry.scaled.width;
  const int height = sideways ? geometry.scaled.width : geometry.scaled.height;
  const auto& crop = geometry.crop;
  if (crop.x < 0 || crop.y < 0 || crop.x + crop.size > geometry.scaled.width ||
      crop.y + crop.size > geometry.scaled.height) {
    throw std::logic_error("frame_converter: crop outside the scaled frame");
  }

  // What to scale: the whole frame, or only the part under the crop when that is much smaller.
  source_window window{0, 0, frame.width, frame.height};
  int out_width = width;
  int out_height = height;
  int offset_x = crop.x;
  int offset_y = crop.y;
  const double crop_share =
      static_cast<double>(crop.size) * crop.size / (static_cast<double>(width) * height);
  // Unscaled frames are converted whole, as PyAV converts them, so that every pixel's colour is
  // the one PySlowFast sees.
  const bool unscaled = width == frame.width && height == frame.height;
  if (rotation == 0 && crop_share < 0.5 && !unscaled && windowable(frame.format)) {
    const AVPixFmtDescriptor* descriptor =
        av_pix_fmt_desc_get(static_cast<AVPixelFormat>(frame.format));
    const int align_x = 1 << descriptor->log2_chroma_w;
    const int align_y = 1 << descriptor->log2_chroma_h;
    const double fx = static_cast<double>(width) / frame.width;
    const double fy = static_cast<double>(height) / frame.height;
    // The bilinear filter reaches about one source pixel per output pixel either side.
    const int reach_x = static_cast<int>(std::ceil(1 / fx)) + 2;
    const int reach_y = static_cast<int>(std::ceil(1 / fy)) + 2;
    // The window's size depends only on the scale and the crop, not on where the crop is, so
    // that clips of the same jittered size share a scaler.
    const auto extent = [](int crop_size, double factor, int reach, int align, int limit) {
      const int needed = static_cast<int>(std::ceil(crop_size / factor)) + 2 * reach + align;
      return std::min(limit, (needed + 7) / 8 * 8);
    };
    const auto place = [](int crop_start, double factor, int reach, int align, int size,
                          int limit) {
      const int wanted = static_cast<int>(std::floor(crop_start / factor)) - reach;
      return std::clamp(wanted, 0, limit - size) / align * align;
    };
    const int window_width = extent(crop.size, fx, reach_x, align_x, frame.width);
    const int window_height = extent(crop.size, fy, reach_y, align_y, frame.height);
    const int left = place(crop.x, fx, reach_x, align_x, window_width, frame.width);
    const int top = place(crop.y, fy, reach_y, align_y, window_height, frame.height);
    const int right = left + window_width;
    const int bottom = top + window_height;
    window = {left, top, right - left, bottom - top};
    out_width = static_cast<int>(std::lround(window.width * fx));
    out_height = static_cast<int>(std::lround(window.height * fy));
    offset_x = std::max(0, static_cast<int>(std::lround(crop.x - left * fx)));
    offset_y = std::max(0, static_cast<int>(std::lround(crop.y - top * fy)));
    if (offset_x + crop.size > out_width) {
      if (right == frame.width) offset_x = std::max(0, out_width - crop.size);
      out_width = std::max(out_width, offset_x + crop.size);
    }
    if (offset_y + crop.size > out_height) {
      if (bottom == frame.height) offset_y = std::max(0, out_height - crop.size);
      out_height = std::max(out_height, offset_y + crop.size);
    }
  }

  auto start = clock_type::now();
  if (frame_id != converted_frame_ || out_width != scaled_width_ || out_height != scaled_height_ ||
      !(window == scaled_window_)) {
    scale(frame, window, out_width, out_height);
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
        copy_row(plane + static_cast<std::ptrdiff_t>(offset_y + y) * stride_ + offset_x, size,
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
        out[static_cast<std::ptrdiff_t>(y) * size + x] =
            plane[static_cast<std::ptrdiff_t>(cy) * stride_ + cx];
      }
    }
  }
  timings.augment_seconds += seconds_since(start);
}

}  // namespace multigrid::reference
