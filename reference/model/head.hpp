#pragma once
// The classification head (PySlowFast's ResNetBasicHead as multigrid configures it): global
// average pooling of each pathway over time and space, so that every clip shape of the schedule
// runs without a rebuild, concatenation, dropout and a linear classifier. It returns logits in
// training and evaluation alike; PySlowFast's evaluation-time softmax is left to the caller.

#include <torch/torch.h>

#include "model/pathway_tensors.hpp"

namespace multigrid::reference {

class ResNetBasicHeadImpl : public torch::nn::Module {
 public:
  ResNetBasicHeadImpl(std::int64_t slow_channels, std::int64_t fast_channels,
                      std::int64_t num_classes, double dropout_rate);
  torch::Tensor forward(const pathway_tensors& input);

  torch::nn::Dropout dropout{nullptr};  ///< null when the rate is 0
  torch::nn::Linear projection{nullptr};
};
TORCH_MODULE(ResNetBasicHead);

}  // namespace multigrid::reference
