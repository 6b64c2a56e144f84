#pragma once
// What the model tests share: a narrow SlowFast that keeps every structural property of R50
// (two pathways, fusions, the four residual stages, the head) at a fraction of the cost, and
// seeded random inputs.

#include <torch/torch.h>

#include "model/slowfast.hpp"

namespace multigrid::reference::testing {

/// SlowFast-R50 8x8 at 1/8 of the width (fast pathway 1 channel wide), 5 classes, no dropout.
inline slowfast_options narrow_options() {
  slowfast_options options;
  options.width_per_group = 8;
  options.num_classes = 5;
  options.dropout_rate = 0;
  return options;
}

inline SlowFast narrow_model(std::uint64_t seed = 1) {
  torch::manual_seed(seed);
  return SlowFast(narrow_options());
}

/// A batch of normalised fast-pathway clips.
inline torch::Tensor random_clips(std::int64_t batch, std::int64_t frames, std::int64_t crop,
                                  std::uint64_t seed = 7) {
  torch::manual_seed(seed);
  return torch::randn({batch, 3, frames, crop, crop});
}

inline bool same_values(const torch::Tensor& a, const torch::Tensor& b, double tolerance = 1e-5) {
  return a.sizes() == b.sizes() && torch::allclose(a, b, tolerance, tolerance);
}

}  // namespace multigrid::reference::testing
