#pragma once
// The layout the model's 5-D tensors live in. cuDNN's fastest 3-D convolutions take
// channels-last-3d (N, T, H, W, C in memory); LibTorch 1.13 on the CPU is faster with the default
// layout, so only CUDA runs use it.

#include <torch/torch.h>

namespace multigrid::reference {

/// Re-lays every 5-D parameter of `module` out as channels-last-3d, in place: the parameters stay
/// the same tensors (set_data), so optimizers built before still hold them.
inline void use_channels_last_3d(torch::nn::Module& module) {
  torch::NoGradGuard no_grad;
  for (auto& parameter : module.parameters()) {
    if (parameter.dim() == 5) {
      parameter.set_data(parameter.contiguous(torch::MemoryFormat::ChannelsLast3d));
    }
  }
}

}  // namespace multigrid::reference
