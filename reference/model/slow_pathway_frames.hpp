#pragma once
// Which frames of the fast clip the slow pathway sees: PySlowFast's pack_pathway_output takes
// linspace(0, T - 1, T / alpha) in float32 and truncates to integers (0, 4, 8, 13, 17, 22, 26, 31
// for T = 32, alpha = 4): not a fixed stride when T - 1 is not a multiple of the step.

#include <torch/torch.h>

#include <cstdint>

namespace multigrid::reference {

/// The slow pathway's frame indices into a fast clip of `fast_frames` frames, as a CPU int64
/// tensor of fast_frames / alpha values. Throws std::invalid_argument when that is zero.
torch::Tensor slow_pathway_frame_indices(std::int64_t fast_frames, std::int64_t alpha);

/// The slow pathway's clip: the indexed frames (dimension 2) of `fast_clip` (N, C, T, H, W), in
/// the fast clip's memory format.
torch::Tensor select_slow_pathway(const torch::Tensor& fast_clip, std::int64_t alpha);

}  // namespace multigrid::reference
