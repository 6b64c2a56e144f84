#pragma once
// The activations of SlowFast's two pathways as they travel through the network together.

#include <torch/torch.h>

namespace multigrid::reference {

struct pathway_tensors {
  torch::Tensor slow;  ///< (N, C_slow, T / alpha, H, W)
  torch::Tensor fast;  ///< (N, C_fast, T, H, W)
};

}  // namespace multigrid::reference
