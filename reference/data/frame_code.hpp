#pragma once
// A colour that names a frame: frame i of a test video is filled with the colour whose red, green
// and blue levels spell i in base 7 (levels 16 + 36 d, far enough apart to survive lossy coding
// and YUV conversion). Decoded clips can then be checked frame by frame: the right frames, in
// order, at the right stride, whatever the crop, scale or flip.

#include <array>
#include <cmath>
#include <cstdint>

namespace multigrid::reference {

constexpr int frame_code_period = 7 * 7 * 7;

constexpr std::array<std::uint8_t, 3> frame_code_colour(int frame_index) noexcept {
  const int i = ((frame_index % frame_code_period) + frame_code_period) % frame_code_period;
  return {static_cast<std::uint8_t>(16 + 36 * (i % 7)),
          static_cast<std::uint8_t>(16 + 36 * (i / 7 % 7)),
          static_cast<std::uint8_t>(16 + 36 * (i / 49))};
}

/// The frame index (modulo frame_code_period) a decoded colour stands for.
inline int decode_frame_code(double red, double green, double blue) noexcept {
  const auto digit = [](double level) {
    const long d = std::lround((level - 16.0) / 36.0);
    return static_cast<int>(d < 0 ? 0 : (d > 6 ? 6 : d));
  };
  return digit(red) + 7 * digit(green) + 49 * digit(blue);
}

}  // namespace multigrid::reference
