#pragma once
// The batched computation on CUDA in channels-last-3d with the project's kernels
// (split_batch_norm_kernels.hpp): three kernels forward and three backward (and one sum), where
// LibTorch's operations take some thirty and move twice the bytes. Built only with
// MULTIGRID_CUDA_KERNELS; without it cuda_kernels_apply is false and the rest is never called.

#include <torch/torch.h>

#include <stdexcept>

#include "model/split_batch_norm_kernel_calls.hpp"

namespace multigrid::reference {

#ifdef MULTIGRID_CUDA_KERNELS

/// kernels_apply (split_batch_norm_kernel_calls.hpp), on a CUDA device.
bool cuda_kernels_apply(const torch::Tensor& x, at::MemoryFormat format,
                        const torch::Tensor& weight, const torch::Tensor& bias,
                        const torch::Tensor& running_mean, const torch::Tensor& running_var);

/// kernels_batched_forward and kernels_batched_backward (split_batch_norm_kernel_calls.hpp) on
/// x's device and its current stream.
batched_forward_result cuda_batched_forward(const torch::Tensor& x, const torch::Tensor& weight,
                                            const torch::Tensor& bias,
                                            const torch::Tensor& running_mean,
                                            const torch::Tensor& running_var, std::int64_t splits,
                                            double momentum, double epsilon);

batched_backward_result cuda_batched_backward(const torch::Tensor& x, const torch::Tensor& dy,
                                              const torch::Tensor& weight,
                                              const torch::Tensor& mean,
                                              const torch::Tensor& inverse_std);

#else

inline bool cuda_kernels_apply(const torch::Tensor&, at::MemoryFormat, const torch::Tensor&,
                               const torch::Tensor&, const torch::Tensor&, const torch::Tensor&) {
  return false;
}
[[noreturn]] inline batched_forward_result cuda_batched_forward(
    const torch::Tensor&, const torch::Tensor&, const torch::Tensor&, const torch::Tensor&,
    const torch::Tensor&, std::int64_t, double, double) {
  throw std::logic_error("sub-batch BN: built without MULTIGRID_CUDA_KERNELS");
}
[[noreturn]] inline batched_backward_result cuda_batched_backward(const torch::Tensor&,
                                                                  const torch::Tensor&,
                                                                  const torch::Tensor&,
                                                                  const torch::Tensor&,
                                                                  const torch::Tensor&) {
  throw std::logic_error("sub-batch BN: built without MULTIGRID_CUDA_KERNELS");
}

#endif

}  // namespace multigrid::reference
