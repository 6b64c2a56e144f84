#pragma once
// PySlowFast's input normalisation, (x / 255 - mean) / std per channel, as one multiply-add on a
// tensor of any device: the trainer can copy uint8 clips to the GPU (a quarter of the bytes of
// float) and normalise them there.

#include <torch/torch.h>

#include <array>

namespace multigrid::reference {

/// `clips`: uint8 (N, 3, T, H, W) or (3, T, H, W), on any device. Returns float32 on the same
/// device.
torch::Tensor normalize_clips(const torch::Tensor& clips, const std::array<float, 3>& mean,
                              const std::array<float, 3>& std);

}  // namespace multigrid::reference
