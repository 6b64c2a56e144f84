#pragma once
// How SlowFast shrinks H and W, in one place: the stem's convolution and its max-pooling halve
// them, and so does the first block of res3, res4 and res5. The product, 32, is what a crop is
// divided by before the head pools: a 32-pixel crop leaves res5 one pixel wide. Free of LibTorch,
// so that the schedule tool can warn about crops without building a model.

#include <array>
#include <cstdint>

namespace multigrid::reference {

inline constexpr std::int64_t stem_conv_spatial_stride = 2;
inline constexpr std::int64_t stem_pool_spatial_stride = 2;
/// res2..res5.
inline constexpr std::array<std::int64_t, 4> residual_spatial_strides{1, 2, 2, 2};

/// Input pixels per pixel of res5's output.
constexpr int slowfast_spatial_stride() {
  std::int64_t stride = stem_conv_spatial_stride * stem_pool_spatial_stride;
  for (const auto s : residual_spatial_strides) stride *= s;
  return static_cast<int>(stride);
}

}  // namespace multigrid::reference
