#pragma once
// The lateral connection from the fast to the slow pathway (PySlowFast's FuseFastToSlow): a
// temporally strided convolution (kernel FUSION_KERNEL_SZ x 1 x 1, stride alpha) turns the fast
// features into FUSION_CONV_CHANNEL_RATIO times their channels at the slow frame rate; after BN and
// ReLU they are concatenated behind the slow pathway's channels.

#include <torch/torch.h>

#include "model/pathway_tensors.hpp"
#include "model/sub_batch_norm.hpp"

namespace multigrid::reference {

class FuseFastToSlowImpl : public torch::nn::Module {
 public:
  FuseFastToSlowImpl(std::int64_t fast_channels, std::int64_t channel_ratio,
                     std::int64_t temporal_kernel, std::int64_t alpha,
                     const batch_norm_settings& norm);
  pathway_tensors forward(const pathway_tensors& input);

  torch::nn::Conv3d conv_f2s{nullptr};
  SubBatchNorm3d bn{nullptr};
};
TORCH_MODULE(FuseFastToSlow);

}  // namespace multigrid::reference
