#include "model/slow_pathway_frames.hpp"

#include <stdexcept>
#include <string>

namespace multigrid::reference {

torch::Tensor slow_pathway_frame_indices(std::int64_t fast_frames, std::int64_t alpha) {
  if (alpha < 1 || fast_frames / alpha < 1) {
    throw std::invalid_argument("a clip of " + std::to_string(fast_frames) +
                                " frames gives the slow pathway no frames at ALPHA " +
                                std::to_string(alpha));
  }
  // float32 on purpose: the reference's rounding of the truncated values depends on it.
  return torch::linspace(0, static_cast<double>(fast_frames - 1), fast_frames / alpha,
                         torch::TensorOptions().dtype(torch::kFloat))
      .to(torch::kLong);
}

torch::Tensor select_slow_pathway(const torch::Tensor& fast_clip, std::int64_t alpha) {
  const auto indices = slow_pathway_frame_indices(fast_clip.size(2), alpha);
  return fast_clip.index_select(2, indices.to(fast_clip.device()))
      .contiguous(fast_clip.suggest_memory_format());
}

}  // namespace multigrid::reference
