#pragma once
// Precise BN (PySlowFast's calculate_and_update_precise_bn, which calls fvcore's update_bn_stats):
// replaces every norm layer's running statistics by the population statistics of a number of
// batches (multigrid::population_statistics: the mean and variance of all their values together),
// forward only, in training mode, then pools sub-batch statistics. The batches should be the
// stage's long-cycle shape without the short cycle. With synchronized BN every process of a group
// must run the same number of batches, since each forward all-reduces.

#include <torch/torch.h>

#include <functional>
#include <optional>
#include <vector>

#include "model/slowfast.hpp"
#include "model/sub_batch_norm.hpp"

namespace multigrid::reference {

/// Runs up to `num_batches` batches of fast-pathway clips from `next_clip_batch` (std::nullopt
/// ends early) and returns how many were used. Restores the layers' momentum and the model's
/// training flag. Throws std::invalid_argument when num_batches < 1 and std::runtime_error when
/// the source has no batch at all.
int update_precise_batch_norm(SlowFast& model,
                              const std::function<std::optional<torch::Tensor>()>& next_clip_batch,
                              int num_batches);

/// The same for any module: `forward_next_batch` runs the module on the next batch and returns
/// false when there is none; `layers` are the module's norm layers.
int update_precise_batch_norm(torch::nn::Module& module, std::vector<SubBatchNorm3d> layers,
                              const std::function<bool()>& forward_next_batch, int num_batches);

}  // namespace multigrid::reference
