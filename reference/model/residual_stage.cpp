#include "model/residual_stage.hpp"

namespace multigrid::reference {

ResStageImpl::ResStageImpl(const residual_stage_shape& shape, const batch_norm_settings& norm) {
  // PySlowFast's registration order (all slow blocks, then all fast ones) fixes the parameter
  // order.
  for (std::size_t p = 0; p < 2; ++p) {
    for (int i = 0; i < shape.blocks; ++i) {
      residual_block_shape block;
      block.in_channels = i == 0 ? shape.in_channels[p] : shape.out_channels[p];
      block.out_channels = shape.out_channels[p];
      block.inner_channels = shape.inner_channels[p];
      block.temporal_kernel =
          i < shape.blocks_with_temporal_kernel[p] ? shape.temporal_kernel[p] : 1;
      block.spatial_stride = i == 0 ? shape.spatial_stride : 1;
      block.groups = shape.groups;
      const auto name = "pathway" + std::to_string(p) + "_res" + std::to_string(i);
      blocks[p].push_back(register_module(name, ResBlock(block, norm)));
    }
  }
}

pathway_tensors ResStageImpl::forward(const pathway_tensors& input) {
  auto slow = input.slow;
  for (auto& block : blocks[0]) slow = block(slow);
  auto fast = input.fast;
  for (auto& block : blocks[1]) fast = block(fast);
  return {slow, fast};
}

}  // namespace multigrid::reference
