#pragma once
// The stem of each pathway (PySlowFast's ResNetBasicStem and VideoModelStem): a T x 7 x 7
// convolution with spatial stride 2, BN, ReLU, and a 1 x 3 x 3 max-pool with spatial stride 2.

#include <torch/torch.h>

#include "model/pathway_tensors.hpp"
#include "model/sub_batch_norm.hpp"

namespace multigrid::reference {

class ResNetBasicStemImpl : public torch::nn::Module {
 public:
  ResNetBasicStemImpl(std::int64_t in_channels, std::int64_t out_channels,
                      std::int64_t temporal_kernel, const batch_norm_settings& norm);
  torch::Tensor forward(const torch::Tensor& input);

  torch::nn::Conv3d conv{nullptr};
  SubBatchNorm3d bn{nullptr};
  torch::nn::MaxPool3d pool_layer{nullptr};
};
TORCH_MODULE(ResNetBasicStem);

/// One stem per pathway; the slow one has temporal kernel 1, the fast one 5.
class VideoModelStemImpl : public torch::nn::Module {
 public:
  VideoModelStemImpl(std::int64_t in_channels, std::int64_t slow_channels,
                     std::int64_t fast_channels, const batch_norm_settings& norm);
  pathway_tensors forward(const pathway_tensors& input);

  ResNetBasicStem pathway0_stem{nullptr};  ///< slow
  ResNetBasicStem pathway1_stem{nullptr};  ///< fast
};
TORCH_MODULE(VideoModelStem);

}  // namespace multigrid::reference
