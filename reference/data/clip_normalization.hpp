#pragma once
// PySlowFast's input normalisation, (x / 255 - mean) / std per channel, as one multiply-add on a
// tensor of any device: the trainer can copy uint8 clips to the GPU (a quarter of the bytes of
// float) and normalise them there.

#include <torch/torch.h>

#include <array>

namespace multigrid::reference {

/// The normalisation as x * scale + shift, with scale and shift float32 tensors on `device`
/// shaped to broadcast over clips of `dims` dimensions (5: (N, 3, T, H, W); 4: (3, T, H, W)).
/// Made once and kept, it lets a captured CUDA graph normalise without a host-to-device copy.
struct clip_normalization {
  clip_normalization(const std::array<float, 3>& mean, const std::array<float, 3>& std,
                     const torch::Device& device, std::int64_t dims = 5);
  /// `clips`: uint8 with `dims` dimensions and 3 channels, on this normalisation's device.
  /// Returns float32.
  torch::Tensor operator()(const torch::Tensor& clips) const;

  torch::Tensor scale;
  torch::Tensor shift;
};

/// `clips`: uint8 (N, 3, T, H, W) or (3, T, H, W), on any device. Returns float32 on the same
/// device.
torch::Tensor normalize_clips(const torch::Tensor& clips, const std::array<float, 3>& mean,
                              const std::array<float, 3>& std);

}  // namespace multigrid::reference
