#pragma once
// A residual stage (res2..res5) of both pathways (PySlowFast's ResStage): `blocks` residual
// blocks per pathway, the first carrying the stage's spatial stride and channel change. The first
// `blocks_with_temporal_kernel` blocks of a pathway use its temporal kernel for conv a, the rest 1.

#include <torch/torch.h>

#include <array>
#include <vector>

#include "model/pathway_tensors.hpp"
#include "model/residual_block.hpp"

namespace multigrid::reference {

struct residual_stage_shape {
  std::array<std::int64_t, 2> in_channels{};  ///< (slow, fast)
  std::array<std::int64_t, 2> out_channels{};
  std::array<std::int64_t, 2> inner_channels{};
  std::array<std::int64_t, 2> temporal_kernel{};
  std::array<int, 2> blocks_with_temporal_kernel{};
  int blocks = 0;
  std::int64_t spatial_stride = 1;
  std::int64_t groups = 1;
};

class ResStageImpl : public torch::nn::Module {
 public:
  ResStageImpl(const residual_stage_shape& shape, const batch_norm_settings& norm);
  pathway_tensors forward(const pathway_tensors& input);

  /// Blocks of each pathway, registered as pathway{p}_res{i}.
  std::array<std::vector<ResBlock>, 2> blocks;
};
TORCH_MODULE(ResStage);

}  // namespace multigrid::reference
