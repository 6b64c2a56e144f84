#pragma once
// Batch normalisation in k splits of the batch, each split a contiguous block of clips: split j
// holds clips [j * N / k, (j + 1) * N / k). Three ways to compute it, with the same results:
//
// - in place: a block of clips is one contiguous piece of memory in both layouts (N, C, T, H, W)
//   and channels-last-3d, so each split is normalised where it lies by LibTorch's batch-norm
//   kernel, with no copy of the activations. The CPU uses it.
// - regrouped: the activations are copied once into a batch of N / k clips with k * C channels
//   (in the input's own memory order, so that the output and the input's gradient keep its
//   format), normalised by one batch-norm call, and copied back. CUDA uses it: on an H200, k
//   calls of LibTorch's CUDA kernel per layer made the 16-split step 2.2x eager PyTorch's
//   plain-BN step (docs/performance.md, "H200").
// - batched: the same blocks seen as one (k, values, C) view, so that one reduction
//   gives every split's statistics and one elementwise pass normalises; no copy, and as many
//   kernels whatever k. With LibTorch's operations its backward pass moves about twice a
//   batch-norm kernel's bytes; with the project's CUDA kernels (MULTIGRID_CUDA_KERNELS,
//   split_batch_norm_cuda.hpp) in channels-last-3d, a batch-norm kernel's. Benchmarks choose it;
//   not yet timed on a GPU (docs/model.md, "Sub-batch BN's computations").
//
// PySlowFast assigns clip i to split i % k (what its view of (N, C, ...) as (N / k, k * C, ...)
// gives); with shuffled batches any fixed assignment of equal splits has the same statistics in
// distribution. docs/model.md says so under "Where we differ".

#include <torch/torch.h>

#include <optional>
#include <string>

#include "model/split_batch_norm_method.hpp"

namespace multigrid::reference {

/// Training forward of sub-batch BN: normalises each split with its own batch statistics, updates
/// the split's running statistics (split_running_mean / split_running_var: splits * C values,
/// split-major) and applies the one affine pair. Differentiable in input, weight and bias.
/// The batch must be a multiple of `splits`.
torch::Tensor split_batch_norm(const torch::Tensor& input, const torch::Tensor& weight,
                               const torch::Tensor& bias, const torch::Tensor& split_running_mean,
                               const torch::Tensor& split_running_var, int splits, double momentum,
                               double epsilon);

/// The computation split_batch_norm uses on `device`: in_place on the CPU, regrouped on CUDA,
/// unless one was chosen for every device.
split_batch_norm_method split_batch_norm_method_for(const torch::Device& device);
/// Makes every later split_batch_norm call use `method` on every device (nullopt: each device's
/// default again). For a run's BN.SUB_BATCH_COMPUTATION, set before its first step, and for
/// benchmarks that time the computations against each other; not thread-safe against concurrent
/// forward passes.
void choose_split_batch_norm_method(std::optional<split_batch_norm_method> method);

/// Chooses `method` (as choose_split_batch_norm_method) while it lives and restores the earlier
/// choice when it goes, so that a run's choice does not outlive the run.
class scoped_split_batch_norm_method {
 public:
  explicit scoped_split_batch_norm_method(std::optional<split_batch_norm_method> method);
  ~scoped_split_batch_norm_method();
  scoped_split_batch_norm_method(const scoped_split_batch_norm_method&) = delete;
  scoped_split_batch_norm_method& operator=(const scoped_split_batch_norm_method&) = delete;

 private:
  std::optional<split_batch_norm_method> earlier_;
};

/// The regrouped computation, whatever the device; exposed so that the CPU's tests check it
/// against the in-place one.
torch::Tensor split_batch_norm_regrouped(const torch::Tensor& input, const torch::Tensor& weight,
                                         const torch::Tensor& bias,
                                         const torch::Tensor& split_running_mean,
                                         const torch::Tensor& split_running_var, int splits,
                                         double momentum, double epsilon);

/// The batched computation, whatever the device.
torch::Tensor split_batch_norm_batched(const torch::Tensor& input, const torch::Tensor& weight,
                                       const torch::Tensor& bias,
                                       const torch::Tensor& split_running_mean,
                                       const torch::Tensor& split_running_var, int splits,
                                       double momentum, double epsilon);

}  // namespace multigrid::reference
