#pragma once
// Precise BN (PySlowFast's calculate_and_update_precise_bn): replaces every norm layer's running
// statistics by the equal-weight average of the per-batch mean and unbiased variance over a number
// of batches, forward only, in training mode, then pools sub-batch statistics. The batches should
// be the stage's long-cycle shape without the short cycle. With synchronized BN every process of
// a group must run the same number of batches, since each forward all-reduces.

#include <torch/torch.h>

#include <functional>
#include <optional>

#include "model/slowfast.hpp"

namespace multigrid::reference {

/// Runs up to `num_batches` batches of fast-pathway clips from `next_clip_batch` (std::nullopt
/// ends early) and returns how many were used. Restores the layers' momentum and the model's
/// training flag. Throws std::invalid_argument when num_batches < 1 and std::runtime_error when
/// the source has no batch at all.
int update_precise_batch_norm(SlowFast& model,
                              const std::function<std::optional<torch::Tensor>()>& next_clip_batch,
                              int num_batches);

}  // namespace multigrid::reference
