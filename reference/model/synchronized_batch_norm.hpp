#pragma once
// Batch normalisation whose statistics are those of the whole sync group's batch: PySlowFast's
// NaiveSyncBatchNorm3d, which multigrid uses when a stage trains with fewer clips per process than
// MULTIGRID.BN_BASE_SIZE. Forward all-reduces one packed tensor (per-channel sum, sum of squares,
// and the element count); backward all-reduces the two per-channel gradient sums. No value is read
// back to the host, so the step stays capturable in a CUDA graph.

#include <torch/torch.h>

#include <memory>

#include "model/batch_norm_synchronizer.hpp"

namespace multigrid::reference {

/// Normalises `input` (N, C, T, H, W) with the group's batch statistics and applies the affine
/// pair; updates the running statistics with the group's mean and unbiased variance. The
/// gradients of `weight` and `bias` are this process's own (the trainer's gradient all-reduce sums
/// them), the input's gradient accounts for every member's samples. Statistics are computed in
/// float32 whatever the input's type; the output has the input's type.
torch::Tensor synchronized_batch_norm(const torch::Tensor& input, const torch::Tensor& weight,
                                      const torch::Tensor& bias, torch::Tensor& running_mean,
                                      torch::Tensor& running_var, double momentum, double epsilon,
                                      std::shared_ptr<batch_norm_synchronizer> synchronizer);

}  // namespace multigrid::reference
