#pragma once
// The two CUDA kernels of sub-batch BN's batched backward pass in channels-last-3d, the steps for
// which LibTorch has no single operation: the sums of dy and dy * (x - mean) per split and
// channel, reading each tensor once, and the input's gradient a * dy + b * x + c in one pass.
// With them the batched computation moves the bytes of one batch-norm kernel (docs/model.md,
// "Sub-batch BN's computations"). Plain CUDA with raw pointers, so that this header needs no
// LibTorch; built only with MULTIGRID_CUDA_KERNELS. The division of the work is in
// split_batch_norm_kernel_plan.hpp.

#include <cstdint>

#include "model/split_batch_norm_kernel_plan.hpp"

namespace multigrid::reference::cuda_kernels {

enum class element_type { float32, bfloat16, float16 };

/// Per split, row chunk and channel: partial_dy = sum of dy, partial_dy_xmu = sum of
/// dy * (x - mean[split, channel]), in float. Both outputs are (splits, plan.chunks, channels),
/// with plan = plan_sums(layout); the caller sums over the chunks (a small tensor), which keeps
/// the result the same from step to step. Returns nullptr, or the CUDA error's text.
const char* split_backward_sums(element_type type, const void* x, const void* dy, const float* mean,
                                const split_layout& layout, float* partial_dy,
                                float* partial_dy_xmu, void* stream);

/// dx = a * dy + b * x + c with a, b, c of (splits, channels), in float, stored in the
/// activations' type. Returns nullptr, or the CUDA error's text.
const char* split_backward_input(element_type type, const void* x, const void* dy, const float* a,
                                 const float* b, const float* c, const split_layout& layout,
                                 void* dx, void* stream);

}  // namespace multigrid::reference::cuda_kernels
