#pragma once
// The model's parameters split the way the optimizer treats them: the affine pairs of the norm
// layers, which get no weight decay (BN.WEIGHT_DECAY 0), and everything else. The split depends
// only on the layer, never on its BN mode, so the groups (and an optimizer built from them) stay
// valid across every stage of the schedule.

#include <torch/torch.h>

#include <vector>

#include "model/slowfast.hpp"

namespace multigrid::reference {

struct slowfast_parameter_groups {
  std::vector<torch::Tensor> batch_norm;  ///< weight and bias of every SubBatchNorm3d
  std::vector<torch::Tensor> other;       ///< convolution weights, classifier weight and bias
};

slowfast_parameter_groups split_parameter_groups(SlowFast& model);

}  // namespace multigrid::reference
