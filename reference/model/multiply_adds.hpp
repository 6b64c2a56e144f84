#pragma once
// Multiply-adds per clip at a given clip shape (convolutions and classifier, as PySlowFast's fvcore
// count: 50.3 G for SlowFast-R50 8x8 at 32 x 224 x 224), counted from the output shapes the
// model's layers really produce. The model runs on an empty batch — zero clips of the shape — so
// every layer computes its real output shape and no arithmetic runs: instant at any shape, on any
// device. It runs in evaluation mode, so it works at any split count (PySlowFast's batch-1 count
// breaks sub-batch BN); pending split statistics are pooled as any evaluation does.

#include <cstdint>

#include "model/slowfast.hpp"

namespace multigrid::reference {

/// Runs an empty batch of clips of `frames` fast frames and `crop` x `crop` pixels on the model's
/// device without gradients and returns the multiply-adds per clip. The model's training flag is
/// restored.
std::int64_t count_multiply_adds(SlowFast& model, int frames, int crop);

}  // namespace multigrid::reference
