#pragma once
// The batched computation's calls of sub-batch BN's kernels (split_batch_norm_kernels.hpp) on
// tensors: the checks, the outputs and scratch, the launches in order, and the affine gradients
// added over the splits. Nothing here is CUDA's: split_batch_norm_cuda.cpp calls it with CUDA
// tensors on the current stream, and a CPU test with CPU tensors, the kernels running on emulated
// CUDA threads (tests/model/split_batch_norm_kernels_emulated_test.cpp). x must live where the
// kernels run: these functions check only that the other tensors share its device.

#include <torch/torch.h>

#include <cstdint>

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

/// Channels-last-3d activations of float, bf16 or half, with float parameters and running
/// statistics (as under autocast) on their device: what the kernels take.
bool kernels_apply(const torch::Tensor& x, at::MemoryFormat format, const torch::Tensor& weight,
                   const torch::Tensor& bias, const torch::Tensor& running_mean,
                   const torch::Tensor& running_var);

/// Normalises each of the `splits` blocks of the channels-last-3d x (float, bf16 or half) with its
/// own statistics and updates the split running statistics (splits * C, split-major, float);
/// weight and bias are float. `stream`: the cudaStream_t the kernels launch on.
batched_forward_result kernels_batched_forward(const torch::Tensor& x, const torch::Tensor& weight,
                                               const torch::Tensor& bias,
                                               const torch::Tensor& running_mean,
                                               const torch::Tensor& running_var,
                                               std::int64_t splits, double momentum, double epsilon,
                                               void* stream);

/// The gradients of x, weight and bias, from dy and the forward pass's statistics.
batched_backward_result kernels_batched_backward(const torch::Tensor& x, const torch::Tensor& dy,
                                                 const torch::Tensor& weight,
                                                 const torch::Tensor& mean,
                                                 const torch::Tensor& inverse_std, void* stream);

}  // namespace multigrid::reference
