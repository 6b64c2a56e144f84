#include "data/spatial_sampling.hpp"

#include <cmath>
#include <stdexcept>
#include <string>

namespace multigrid::reference {

int jittered_short_side(int min_size, int max_size, double uniform01, bool inverse_uniform) {
  if (min_size <= 0 || max_size < min_size) {
    throw std::invalid_argument("jittered_short_side: bad range [" + std::to_string(min_size) +
                                ", " + std::to_string(max_size) + "]");
  }
  double size = 0;
  if (inverse_uniform) {
    const double low = 1.0 / max_size;
    const double high = 1.0 / min_size;
    size = 1.0 / (low + (high - low) * uniform01);
  } else {
    size = min_size + (max_size - min_size) * uniform01;
  }
  // Python's round(): halves go to the even neighbour, as nearbyint does by default.
  return static_cast<int>(std::nearbyint(size));
}

frame_size scale_short_side(frame_size frame, int short_side) {
  if (frame.width <= 0 || frame.height <= 0 || short_side <= 0) {
    throw std::invalid_argument("scale_short_side: frame " + std::to_string(frame.width) + "x" +
                                std::to_string(frame.height) + " to " + std::to_string(short_side));
  }
  const int width = frame.width;
  const int height = frame.height;
  if ((width <= height && width == short_side) || (height <= width && height == short_side)) {
    return frame;
  }
  if (width < height) {
    return {short_side,
            static_cast<int>(std::floor(static_cast<double>(height) / width * short_side))};
  }
  return {static_cast<int>(std::floor(static_cast<double>(width) / height * short_side)),
          short_side};
}

namespace {

int random_offset(int extent, int size, double uniform01) {
  if (extent <= size) return 0;
  // randint(0, extent - size) draws from extent - size values, 0 .. extent - size - 1.
  const int choices = extent - size;
  const int offset = static_cast<int>(uniform01 * choices);
  return offset < choices ? offset : choices - 1;
}

}  // namespace

crop_box random_crop(frame_size frame, int size, double uniform_x, double uniform_y) {
  return {random_offset(frame.width, size, uniform_x), random_offset(frame.height, size, uniform_y),
          size};
}

crop_box uniform_crop(frame_size frame, int size, int spatial_index) {
  if (spatial_index < 0 || spatial_index > 2) {
    throw std::invalid_argument("uniform_crop: spatial index " + std::to_string(spatial_index) +
                                " is not 0, 1 or 2");
  }
  const auto centre = [size](int extent) {
    return static_cast<int>(std::ceil((extent - size) / 2.0));
  };
  crop_box box{centre(frame.width), centre(frame.height), size};
  if (frame.height > frame.width) {
    if (spatial_index == 0) box.y = 0;
    if (spatial_index == 2) box.y = frame.height - size;
  } else {
    if (spatial_index == 0) box.x = 0;
    if (spatial_index == 2) box.x = frame.width - size;
  }
  return box;
}

}  // namespace multigrid::reference
