#pragma once
// The batched computation's two activation-sized backward steps on CUDA, with the project's
// kernels (split_batch_norm_kernels.hpp) in place of three LibTorch passes each. Built only with
// MULTIGRID_CUDA_KERNELS; without it cuda_kernels_apply is false and the rest is never called.

#include <torch/torch.h>

#include <stdexcept>
#include <utility>

namespace multigrid::reference {

#ifdef MULTIGRID_CUDA_KERNELS

/// A CUDA tensor in channels-last-3d of float, bf16 or half.
bool cuda_kernels_apply(const torch::Tensor& x, at::MemoryFormat format);

/// Per split and channel (each (splits, C), float): the sum of dy and of dy * (x - mean), reading
/// x and dy once. mean: (splits, C) float.
std::pair<torch::Tensor, torch::Tensor> cuda_backward_sums(const torch::Tensor& x,
                                                           const torch::Tensor& dy,
                                                           const torch::Tensor& mean,
                                                           std::int64_t splits);

/// grad_input = a * dy + b * x + c in one pass; a, b, c: (splits, C) float.
void cuda_backward_input(const torch::Tensor& x, const torch::Tensor& dy, const torch::Tensor& a,
                         const torch::Tensor& b, const torch::Tensor& c, std::int64_t splits,
                         torch::Tensor& grad_input);

#else

inline bool cuda_kernels_apply(const torch::Tensor&, at::MemoryFormat) {
  return false;
}
[[noreturn]] inline std::pair<torch::Tensor, torch::Tensor> cuda_backward_sums(const torch::Tensor&,
                                                                               const torch::Tensor&,
                                                                               const torch::Tensor&,
                                                                               std::int64_t) {
  throw std::logic_error("sub-batch BN: built without MULTIGRID_CUDA_KERNELS");
}
[[noreturn]] inline void cuda_backward_input(const torch::Tensor&, const torch::Tensor&,
                                             const torch::Tensor&, const torch::Tensor&,
                                             const torch::Tensor&, std::int64_t, torch::Tensor&) {
  throw std::logic_error("sub-batch BN: built without MULTIGRID_CUDA_KERNELS");
}

#endif

}  // namespace multigrid::reference
