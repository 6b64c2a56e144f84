#include "data/clip_normalization.hpp"

#include <stdexcept>
#include <vector>

namespace multigrid::reference {
namespace {

void check_clip_dims(const torch::Tensor& clips) {
  const auto dims = clips.dim();
  if ((dims != 5 && dims != 4) || clips.size(dims - 4) != 3) {
    throw std::invalid_argument("normalize_clips: expected (N, 3, T, H, W) or (3, T, H, W) clips");
  }
}

}  // namespace

clip_normalization::clip_normalization(const std::array<float, 3>& mean,
                                       const std::array<float, 3>& std, const torch::Device& device,
                                       std::int64_t dims) {
  if (dims != 5 && dims != 4)
    throw std::invalid_argument("clip_normalization: dims must be 4 or 5");
  std::vector<float> scales(3), shifts(3);
  for (std::size_t c = 0; c < 3; ++c) {
    if (!(std[c] > 0)) throw std::invalid_argument("normalize_clips: std must be positive");
    scales[c] = 1.0f / (255.0f * std[c]);
    shifts[c] = -mean[c] / std[c];
  }
  std::vector<std::int64_t> shape(static_cast<std::size_t>(dims), 1);
  shape[static_cast<std::size_t>(dims - 4)] = 3;
  const auto options = torch::TensorOptions().dtype(torch::kFloat32);
  scale = torch::tensor(scales, options).view(shape).to(device);
  shift = torch::tensor(shifts, options).view(shape).to(device);
}

torch::Tensor clip_normalization::operator()(const torch::Tensor& clips) const {
  check_clip_dims(clips);
  if (clips.dim() != scale.dim()) {
    throw std::invalid_argument("normalize_clips: clips have " + std::to_string(clips.dim()) +
                                " dimensions, the normalisation was made for " +
                                std::to_string(scale.dim()));
  }
  return clips.to(torch::kFloat32).mul_(scale).add_(shift);
}

torch::Tensor normalize_clips(const torch::Tensor& clips, const std::array<float, 3>& mean,
                              const std::array<float, 3>& std) {
  check_clip_dims(clips);
  return clip_normalization(mean, std, clips.device(), clips.dim())(clips);
}

}  // namespace multigrid::reference
