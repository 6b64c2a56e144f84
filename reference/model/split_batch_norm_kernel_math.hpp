#pragma once
// The per-(split, channel) arithmetic of sub-batch BN's CUDA kernels (split_batch_norm_kernels.cu)
// between their activation-sized passes: each chunk's part of a split's sums, and what the split's
// sums give, forward (statistics, scale and shift) and backward (the input gradient's coefficients
// and the split's parts of the affine pair's gradients). The combining kernels spread a split's
// chunks over a block's thread rows and add the parts in a fixed order.

#include <cmath>
#include <cstdint>

#include "model/split_batch_norm_kernel_plan.hpp"

namespace multigrid::reference::cuda_kernels {

/// The rows chunk `chunk` holds: rows_per_chunk, the last one what remains.
MULTIGRID_HOST_DEVICE inline float chunk_rows(const launch_plan& plan, const split_layout& layout,
                                              std::int64_t chunk) {
  return static_cast<float>(chunk_end_row(plan, layout, chunk) - chunk_first_row(plan, chunk));
}

/// A chunk's part of its split's sum of values, from the forward kernel's moments: the chunk's
/// first value `shift` and the sum of x - shift over its rows.
MULTIGRID_HOST_DEVICE inline float chunk_total(float rows, float shift, float sum) {
  return rows * shift + sum;
}

/// A chunk's part of its split's sum of squares about the split's mean:
/// x - mean = (x - shift) + (shift - mean), so that a mean far from zero cancels nothing.
MULTIGRID_HOST_DEVICE inline float chunk_squares(float rows, float shift, float sum,
                                                 float sum_of_squares, float mean) {
  const float offset = shift - mean;
  return sum_of_squares + 2 * offset * sum + rows * offset * offset;
}

struct forward_coefficients {
  float mean = 0;
  float variance = 0;  ///< biased, the one that normalises
  float inverse_std = 0;
  float scale = 0;  ///< inverse_std * weight
  float shift = 0;  ///< bias - mean * scale
};

MULTIGRID_HOST_DEVICE inline forward_coefficients finish_forward(float mean, float squares,
                                                                 const split_layout& layout,
                                                                 float weight, float bias,
                                                                 float epsilon) {
  forward_coefficients result;
  result.mean = mean;
  result.variance = squares / static_cast<float>(layout.rows);
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
  float weight_part = 0;  ///< the split's part of the weight's gradient
  float bias_part = 0;    ///< the split's part of the bias's gradient
};

/// From a split's sums of dy and dy * (x - mean): dx's coefficients,
///   dx = (dy - mean(dy) - (x - mean) * inverse_std^2 * mean(dy * (x - mean))) * inverse_std * w,
/// and the split's parts of the affine pair's gradients.
MULTIGRID_HOST_DEVICE inline backward_coefficients finish_backward(float sum_dy, float sum_dy_xmu,
                                                                   const split_layout& layout,
                                                                   float mean, float inverse_std,
                                                                   float weight) {
  const auto rows = static_cast<float>(layout.rows);
  backward_coefficients result;
  result.a = inverse_std * weight;
  result.b = -result.a * inverse_std * inverse_std * sum_dy_xmu / rows;
  result.c = -result.a * sum_dy / rows - result.b * mean;
  result.weight_part = sum_dy_xmu * inverse_std;
  result.bias_part = sum_dy;
  return result;
}

}  // namespace multigrid::reference::cuda_kernels
