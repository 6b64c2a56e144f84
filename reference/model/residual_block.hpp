#pragma once
// The residual block of SlowFast-R50/101 (PySlowFast's BottleneckTransform and ResBlock):
// a = T x 1 x 1 conv (padding T / 2), b = 1 x 3 x 3 conv carrying the spatial stride (and the
// groups of ResNeXt), c = 1 x 1 x 1 conv, each followed by BN, ReLU after a and b; the shortcut is
// a strided 1 x 1 x 1 conv + BN when the channels or the stride change, identity otherwise.

#include <torch/torch.h>

#include "model/sub_batch_norm.hpp"

namespace multigrid::reference {

struct residual_block_shape {
  std::int64_t in_channels = 0;
  std::int64_t out_channels = 0;
  std::int64_t inner_channels = 0;
  std::int64_t temporal_kernel = 1;  ///< of conv a
  std::int64_t spatial_stride = 1;   ///< of conv b and the shortcut
  std::int64_t groups = 1;           ///< of conv b
};

class BottleneckTransformImpl : public torch::nn::Module {
 public:
  BottleneckTransformImpl(const residual_block_shape& shape, const batch_norm_settings& norm);
  torch::Tensor forward(const torch::Tensor& input);

  torch::nn::Conv3d a{nullptr};
  SubBatchNorm3d a_bn{nullptr};
  torch::nn::Conv3d b{nullptr};
  SubBatchNorm3d b_bn{nullptr};
  torch::nn::Conv3d c{nullptr};
  /// The block's last BN: its scale starts at zero (RESNET.ZERO_INIT_FINAL_BN), so each block
  /// starts as the identity.
  SubBatchNorm3d c_bn{nullptr};
};
TORCH_MODULE(BottleneckTransform);

class ResBlockImpl : public torch::nn::Module {
 public:
  ResBlockImpl(const residual_block_shape& shape, const batch_norm_settings& norm);
  torch::Tensor forward(const torch::Tensor& input);

  torch::nn::Conv3d branch1{nullptr};  ///< projection shortcut; null for the identity
  SubBatchNorm3d branch1_bn{nullptr};
  BottleneckTransform branch2{nullptr};
};
TORCH_MODULE(ResBlock);

}  // namespace multigrid::reference
