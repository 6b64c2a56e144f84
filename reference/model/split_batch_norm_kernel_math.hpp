#pragma once
// The per-(split, channel) arithmetic of sub-batch BN's CUDA kernels (split_batch_norm_kernels.cu)
// between their activation-sized passes, in plain C++ shared with a CPU test that emulates the
// kernels: combining the forward pass's per-chunk moments into the split's statistics, scale and
// shift, and the backward pass's per-chunk sums into the input gradient's coefficients and the
// affine pair's gradients. One GPU thread runs one of these per (split, channel) or per channel,
// so that a layer launches three kernels each way instead of dozens of small LibTorch operations.

#include <cmath>
#include <cstdint>

#include "model/split_batch_norm_kernel_plan.hpp"

namespace multigrid::reference::cuda_kernels {

/// The rows chunk `chunk` holds: rows_per_chunk, the last one what remains.
MULTIGRID_HOST_DEVICE inline float chunk_rows(const launch_plan& plan, const split_layout& layout,
                                              std::int64_t chunk) {
  return static_cast<float>(chunk_end_row(plan, layout, chunk) - chunk_first_row(plan, chunk));
}

struct forward_coefficients {
  float mean = 0;
  float variance = 0;  ///< biased, the one that normalises
  float inverse_std = 0;
  float scale = 0;  ///< inverse_std * weight
  float shift = 0;  ///< bias - mean * scale
};

/// From the forward kernel's per-chunk moments of one split and channel (each (splits, chunks, C):
/// the chunk's first value `shift` and the sums of x - shift and of its square): the split's
/// statistics and the output's coefficients.
MULTIGRID_HOST_DEVICE inline forward_coefficients combine_forward(
    const launch_plan& plan, const split_layout& layout, std::int64_t split, std::int64_t channel,
    const float* shift, const float* sum, const float* sum_of_squares, float weight, float bias,
    float epsilon) {
  const auto at = [&](std::int64_t chunk) {
    return (split * plan.chunks + chunk) * layout.channels + channel;
  };
  const auto rows = static_cast<float>(layout.rows);
  float total = 0;
  for (std::int64_t chunk = 0; chunk < plan.chunks; ++chunk) {
    total += chunk_rows(plan, layout, chunk) * shift[at(chunk)] + sum[at(chunk)];
  }
  forward_coefficients result;
  result.mean = total / rows;
  // Each chunk's values about the split's mean: x - mean = (x - shift) + (shift - mean).
  float squares = 0;
  for (std::int64_t chunk = 0; chunk < plan.chunks; ++chunk) {
    const float offset = shift[at(chunk)] - result.mean;
    squares += sum_of_squares[at(chunk)] + 2 * offset * sum[at(chunk)] +
               chunk_rows(plan, layout, chunk) * offset * offset;
  }
  result.variance = squares / rows;
  result.inverse_std = 1.0f / std::sqrt(result.variance + epsilon);
  result.scale = result.inverse_std * weight;
  result.shift = bias - result.mean * result.scale;
  return result;
}

/// A running statistic's update, as LibTorch's batch norm makes it (the variance unbiased).
MULTIGRID_HOST_DEVICE inline float updated_running(float running, float batch, float momentum) {
  return (1 - momentum) * running + momentum * batch;
}
MULTIGRID_HOST_DEVICE inline float unbiased_variance(float variance, const split_layout& layout) {
  const auto rows = static_cast<float>(layout.rows);
  return variance * rows / (rows - 1);
}

struct backward_coefficients {
  float a = 0;  ///< dx = a * dy + b * x + c
  float b = 0;
  float c = 0;
  float sum_dy = 0;       ///< the split's part of the bias's gradient
  float weight_part = 0;  ///< the split's part of the weight's gradient
};

/// From the backward kernel's per-chunk sums of dy and dy * (x - mean) of one split and channel
/// (each (splits, chunks, C)): dx's coefficients,
///   dx = (dy - mean(dy) - (x - mean) * inverse_std^2 * mean(dy * (x - mean))) * inverse_std * w,
/// and the split's parts of the affine pair's gradients.
MULTIGRID_HOST_DEVICE inline backward_coefficients combine_backward(
    const launch_plan& plan, const split_layout& layout, std::int64_t split, std::int64_t channel,
    const float* sum_dy, const float* sum_dy_xmu, float mean, float inverse_std, float weight) {
  float dy = 0;
  float dy_xmu = 0;
  for (std::int64_t chunk = 0; chunk < plan.chunks; ++chunk) {
    const auto i = (split * plan.chunks + chunk) * layout.channels + channel;
    dy += sum_dy[i];
    dy_xmu += sum_dy_xmu[i];
  }
  const auto rows = static_cast<float>(layout.rows);
  backward_coefficients result;
  result.a = inverse_std * weight;
  result.b = -result.a * inverse_std * inverse_std * dy_xmu / rows;
  result.c = -result.a * dy / rows - result.b * mean;
  result.sum_dy = dy;
  result.weight_part = dy_xmu * inverse_std;
  return result;
}

}  // namespace multigrid::reference::cuda_kernels
