#pragma once
// The batched computation on CUDA in channels-last-3d with the project's kernels
// (split_batch_norm_kernels.hpp): three kernels forward and three backward (and one sum), where
// LibTorch's operations take some thirty and move twice the bytes. Built only with
// MULTIGRID_CUDA_KERNELS; without it cuda_kernels_apply is false and the rest is never called.

#include <torch/torch.h>

#include <stdexcept>

namespace multigrid::reference {

struct batched_forward_result {
  torch::Tensor output;
  torch::Tensor mean;         ///< (splits, C) float
  torch::Tensor inverse_std;  ///< (splits, C) float
};

struct batched_backward_result {
  torch::Tensor grad_input;
  torch::Tensor grad_weight;
  torch::Tensor grad_bias;
};

#ifdef MULTIGRID_CUDA_KERNELS

/// Channels-last-3d CUDA activations of float, bf16 or half, with float parameters and running
/// statistics (as under autocast).
bool cuda_kernels_apply(const torch::Tensor& x, at::MemoryFormat format,
                        const torch::Tensor& weight, const torch::Tensor& bias,
                        const torch::Tensor& running_mean, const torch::Tensor& running_var);

/// Normalises each of the `splits` blocks of x with its own statistics and updates the split
/// running statistics (splits * C, split-major).
batched_forward_result cuda_batched_forward(const torch::Tensor& x, const torch::Tensor& weight,
                                            const torch::Tensor& bias,
                                            const torch::Tensor& running_mean,
                                            const torch::Tensor& running_var, std::int64_t splits,
                                            double momentum, double epsilon);

/// The gradients of x, weight and bias, from dy and the forward pass's statistics.
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
