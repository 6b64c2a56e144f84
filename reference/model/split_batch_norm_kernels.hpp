#pragma once
// Sub-batch BN's batched computation on CUDA in channels-last-3d, in three kernels each way where
// LibTorch needs some fifteen operations, some with no single or mixed-type form: each split's
// statistics reading x once, the backward sums reading x and dy once, and the elementwise passes
// out = a * p + b * q + c with per-split, per-channel float coefficients on bf16, half or float
// activations. With them the batched computation moves the bytes of one batch-norm kernel
// (docs/model.md, "Sub-batch BN's computations"). Plain CUDA with raw pointers, so that this header
// needs no LibTorch; built only with MULTIGRID_CUDA_KERNELS. How the work is divided:
// split_batch_norm_kernel_plan.hpp.
//
// Every function launches on `stream` (a cudaStream_t) and returns nullptr, or the CUDA error's
// text. Sums are taken in a fixed order, so that a step gives the same results every time.

#include <cstdint>

#include "model/split_batch_norm_kernel_plan.hpp"

namespace multigrid::reference::cuda_kernels {

enum class element_type { float32, bfloat16, float16 };

/// Floats of scratch the two statistics functions need: `values` per split, chunk and channel.
inline std::int64_t scratch_floats(const split_layout& layout, int values) {
  return values * layout.splits * plan_launch(layout).chunks * layout.channels;
}

/// Forward: every split's mean and inverse standard deviation, the output's scale and shift (each
/// (splits, channels)), and the running statistics (splits * channels, split-major) updated, from
/// one read of x. Two kernels: the chunks' shifted moments (split_batch_norm_kernel_plan.hpp),
/// then a kernel combining each split's chunks (finish_forward). `scratch` holds
/// scratch_floats(layout, 3). weight and bias: (channels).
const char* split_forward_statistics(element_type type, const void* x, const split_layout& layout,
                                     const float* weight, const float* bias, float epsilon,
                                     float momentum, float* running_mean, float* running_var,
                                     float* scratch, float* mean, float* inverse_std, float* scale,
                                     float* shift, void* stream);

/// Backward: dx's coefficients a, b, c (each (splits, channels)) and each split's parts of the
/// affine pair's gradients (affine_parts: (2, splits, channels), weight then bias, for the caller
/// to add over the splits), from one read of x and dy. Two kernels: the chunks' sums of dy and of
/// dy * (x - mean), then a kernel combining each split's chunks (finish_backward).
/// `scratch` holds scratch_floats(layout, 2).
const char* split_backward_coefficients(element_type type, const void* x, const void* dy,
                                        const split_layout& layout, const float* mean,
                                        const float* inverse_std, const float* weight,
                                        float* scratch, float* a, float* b, float* c,
                                        float* affine_parts, void* stream);

/// out = a * p + b * q + c, with a, b, c of (splits, channels); q and b may be null (then
/// out = a * p + c). Computed in float, stored in the activations' type.
const char* split_affine(element_type type, const void* p, const float* a, const void* q,
                         const float* b, const float* c, const split_layout& layout, void* out,
                         void* stream);

}  // namespace multigrid::reference::cuda_kernels
