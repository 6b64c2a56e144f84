#include "data/clip_normalization.hpp"

#include <stdexcept>

namespace multigrid::reference {

torch::Tensor normalize_clips(const torch::Tensor& clips, const std::array<float, 3>& mean,
                              const std::array<float, 3>& std) {
  const auto dims = clips.dim();
  if ((dims != 5 && dims != 4) || clips.size(dims - 4) != 3) {
    throw std::invalid_argument("normalize_clips: expected (N, 3, T, H, W) or (3, T, H, W) clips");
  }
  std::vector<float> scale(3), shift(3);
  for (std::size_t c = 0; c < 3; ++c) {
    if (!(std[c] > 0)) throw std::invalid_argument("normalize_clips: std must be positive");
    scale[c] = 1.0f / (255.0f * std[c]);
    shift[c] = -mean[c] / std[c];
  }
  std::vector<std::int64_t> shape(static_cast<std::size_t>(dims), 1);
  shape[static_cast<std::size_t>(dims - 4)] = 3;
  const auto options = torch::TensorOptions().dtype(torch::kFloat32);
  const auto scale_tensor = torch::tensor(scale, options).view(shape).to(clips.device());
  const auto shift_tensor = torch::tensor(shift, options).view(shape).to(clips.device());
  return clips.to(torch::kFloat32).mul_(scale_tensor).add_(shift_tensor);
}

}  // namespace multigrid::reference
