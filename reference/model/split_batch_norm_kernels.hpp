#pragma once
// Sub-batch BN's batched computation on CUDA in channels-last-3d, the steps for which LibTorch
// has no single operation or no mixed-type one: each split's moments reading x once, the sums of
// dy and dy * (x - mean) reading x and dy once, and the elementwise passes out = a * p + b * q + c
// with per-split, per-channel float coefficients on bf16, half or float activations. With them
// the batched computation moves the bytes of one batch-norm kernel (docs/model.md, "Sub-batch
// BN's computations"). Plain CUDA with raw pointers, so that this header needs no LibTorch; built
// only with MULTIGRID_CUDA_KERNELS. How the work is divided: split_batch_norm_kernel_plan.hpp.
//
// Every function launches on `stream` (a cudaStream_t) and returns nullptr, or the CUDA error's
// text. Partial results are (splits, plan.chunks, channels) floats with plan = plan_launch(layout);
// the caller combines them over the chunks (small tensors), which keeps results the same from
// step to step.

#include <cstdint>

#include "model/split_batch_norm_kernel_plan.hpp"

namespace multigrid::reference::cuda_kernels {

enum class element_type { float32, bfloat16, float16 };

/// Per split, chunk and channel: `shift`, the value in the chunk's first row, and the sums of
/// (x - shift) and (x - shift)^2 over the chunk's rows (shifted, so that a mean far from zero
/// does not cancel the variance away).
const char* split_forward_moments(element_type type, const void* x, const split_layout& layout,
                                  float* shift, float* sum, float* sum_of_squares, void* stream);

/// Per split, chunk and channel: the sums of dy and of dy * (x - mean[split, channel]).
const char* split_backward_sums(element_type type, const void* x, const void* dy, const float* mean,
                                const split_layout& layout, float* sum_dy, float* sum_dy_xmu,
                                void* stream);

/// out = a * p + b * q + c, with a, b, c of (splits, channels); q and b may be null (then
/// out = a * p + c). Computed in float, stored in the activations' type.
const char* split_affine(element_type type, const void* p, const float* a, const void* q,
                         const float* b, const float* c, const split_layout& layout, void* out,
                         void* stream);

}  // namespace multigrid::reference::cuda_kernels
