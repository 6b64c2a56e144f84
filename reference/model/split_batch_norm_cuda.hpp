#pragma once
// The batched computation's activation-sized steps on CUDA in channels-last-3d, with the
// project's kernels (split_batch_norm_kernels.hpp) in place of LibTorch's operations. Built only
// with MULTIGRID_CUDA_KERNELS; without it cuda_kernels_apply is false and the rest is never
// called.

#include <torch/torch.h>

#include <stdexcept>
#include <utility>

namespace multigrid::reference {

/// Each split's (mean, biased variance), (splits, C), from the forward kernel's per-chunk moments
/// (each (splits, chunks, C): the chunk's first value `shift`, and the sums of x - shift and of its
/// square over the chunk's rows). Chunks hold rows_per_chunk rows, the last one what remains of
/// `rows`. In LibTorch operations on small tensors, so that the CPU tests it; on the device, with
/// no copy from the host, so that it can be captured in a CUDA graph.
inline std::pair<torch::Tensor, torch::Tensor> combine_chunk_moments(
    const torch::Tensor& shift, const torch::Tensor& sum, const torch::Tensor& sum_of_squares,
    std::int64_t rows_per_chunk, std::int64_t rows) {
  const auto chunks = shift.size(1);
  const auto counts =
      (rows - torch::arange(chunks, shift.options()) * static_cast<double>(rows_per_chunk))
          .clamp_max(static_cast<double>(rows_per_chunk))
          .view({1, chunks, 1});
  const auto mean = (counts * shift + sum).sum(1) / static_cast<double>(rows);
  // Each chunk's values about the split's mean: x - mean = (x - shift) + (shift - mean).
  const auto offset = shift - mean.unsqueeze(1);
  const auto squares = sum_of_squares + 2 * offset * sum + counts * offset * offset;
  return {mean, squares.sum(1) / static_cast<double>(rows)};
}

#ifdef MULTIGRID_CUDA_KERNELS

/// A CUDA tensor in channels-last-3d of float, bf16 or half.
bool cuda_kernels_apply(const torch::Tensor& x, at::MemoryFormat format);

/// Each split's (mean, biased variance), (splits, C) float, reading x once.
std::pair<torch::Tensor, torch::Tensor> cuda_forward_statistics(const torch::Tensor& x,
                                                                std::int64_t splits);

/// Per split and channel (each (splits, C), float): the sum of dy and of dy * (x - mean), reading
/// x and dy once. mean: (splits, C) float.
std::pair<torch::Tensor, torch::Tensor> cuda_backward_sums(const torch::Tensor& x,
                                                           const torch::Tensor& dy,
                                                           const torch::Tensor& mean,
                                                           std::int64_t splits);

/// out = a * p + b * q + c in one pass (without q and b: a * p + c); a, b, c: (splits, C) float;
/// p, q and out channels-last-3d of one type.
void cuda_affine(const torch::Tensor& p, const torch::Tensor& a, const torch::Tensor& q,
                 const torch::Tensor& b, const torch::Tensor& c, std::int64_t splits,
                 torch::Tensor& out);

#else

inline bool cuda_kernels_apply(const torch::Tensor&, at::MemoryFormat) {
  return false;
}
[[noreturn]] inline std::pair<torch::Tensor, torch::Tensor> cuda_forward_statistics(
    const torch::Tensor&, std::int64_t) {
  throw std::logic_error("sub-batch BN: built without MULTIGRID_CUDA_KERNELS");
}
[[noreturn]] inline std::pair<torch::Tensor, torch::Tensor> cuda_backward_sums(const torch::Tensor&,
                                                                               const torch::Tensor&,
                                                                               const torch::Tensor&,
                                                                               std::int64_t) {
  throw std::logic_error("sub-batch BN: built without MULTIGRID_CUDA_KERNELS");
}
[[noreturn]] inline void cuda_affine(const torch::Tensor&, const torch::Tensor&,
                                     const torch::Tensor&, const torch::Tensor&,
                                     const torch::Tensor&, std::int64_t, torch::Tensor&) {
  throw std::logic_error("sub-batch BN: built without MULTIGRID_CUDA_KERNELS");
}

#endif

}  // namespace multigrid::reference
