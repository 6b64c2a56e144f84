#pragma once
// The model's convolutions: bias-free Conv3d, as every ResNet convolution followed by BN is.

#include <torch/torch.h>

#include <array>
#include <cstdint>

namespace multigrid::reference {

using shape3 = std::array<std::int64_t, 3>;  ///< (temporal, height, width)

inline torch::nn::Conv3d make_conv3d(std::int64_t in_channels, std::int64_t out_channels,
                                     shape3 kernel, shape3 stride, shape3 padding,
                                     std::int64_t groups = 1) {
  return torch::nn::Conv3d(
      torch::nn::Conv3dOptions(in_channels, out_channels, {kernel[0], kernel[1], kernel[2]})
          .stride({stride[0], stride[1], stride[2]})
          .padding({padding[0], padding[1], padding[2]})
          .groups(groups)
          .bias(false));
}

}  // namespace multigrid::reference
