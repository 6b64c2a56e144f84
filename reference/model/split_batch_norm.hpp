#pragma once
// Batch normalisation in k splits of the batch, each split a contiguous block of clips: split j
// holds clips [j * N / k, (j + 1) * N / k). A block of clips is one contiguous piece of memory in
// both layouts (N, C, T, H, W) and channels-last-3d, so every split is normalised where it lies,
// by LibTorch's own batch-norm kernels writing into the output: no regrouping copy of the
// activations in either direction, whatever the memory format.
//
// PySlowFast assigns clip i to split i % k (what its view of (N, C, ...) as (N / k, k * C, ...)
// gives); with shuffled batches any fixed assignment of equal splits has the same statistics in
// distribution. docs/model.md says so under "Where we differ".

#include <torch/torch.h>

namespace multigrid::reference {

/// Training forward of sub-batch BN: normalises each split with its own batch statistics, updates
/// the split's running statistics (split_running_mean / split_running_var: splits * C values,
/// split-major) and applies the one affine pair. Differentiable in input, weight and bias.
/// The batch must be a multiple of `splits`.
torch::Tensor split_batch_norm(const torch::Tensor& input, const torch::Tensor& weight,
                               const torch::Tensor& bias, const torch::Tensor& split_running_mean,
                               const torch::Tensor& split_running_var, int splits, double momentum,
                               double epsilon);

}  // namespace multigrid::reference
