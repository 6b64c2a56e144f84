#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include "model/split_batch_norm_kernel_math.hpp"
#include "model/split_batch_norm_kernels.hpp"

namespace multigrid::reference::cuda_kernels {
namespace {

template <typename T>
__device__ __forceinline__ float load(const T* values, std::int64_t i);
template <>
__device__ __forceinline__ float load<float>(const float* values, std::int64_t i) {
  return values[i];
}
template <>
__device__ __forceinline__ float load<__nv_bfloat16>(const __nv_bfloat16* values, std::int64_t i) {
  return __bfloat162float(values[i]);
}
template <>
__device__ __forceinline__ float load<__half>(const __half* values, std::int64_t i) {
  return __half2float(values[i]);
}

template <typename T>
__device__ __forceinline__ T rounded(float value);
template <>
__device__ __forceinline__ float rounded<float>(float value) {
  return value;
}
template <>
__device__ __forceinline__ __nv_bfloat16 rounded<__nv_bfloat16>(float value) {
  return __float2bfloat16_rn(value);
}
template <>
__device__ __forceinline__ __half rounded<__half>(float value) {
  return __float2half_rn(value);
}

// Adds the block's per-thread values over its thread rows, in a fixed order so that a step gives
// the same sums every time; thread row 0 holds the results. Every thread of the block calls it.
template <int Count>
__device__ void sum_over_thread_rows(float (&values)[Count]) {
  extern __shared__ float shared[];
  const unsigned threads = blockDim.x * blockDim.y;
  const unsigned slot = threadIdx.y * blockDim.x + threadIdx.x;
  for (int v = 0; v < Count; ++v) shared[v * threads + slot] = values[v];
  __syncthreads();
  if (threadIdx.y == 0) {
    for (unsigned y = 1; y < blockDim.y; ++y) {
      for (int v = 0; v < Count; ++v)
        values[v] += shared[v * threads + y * blockDim.x + threadIdx.x];
    }
  }
}

struct block_position {
  std::int64_t split;
  std::int64_t chunk;
  std::int64_t channel;
  std::int64_t partial;  ///< where the block's results for this channel go
};

__device__ __forceinline__ block_position position(const launch_plan& plan,
                                                   const split_layout& layout) {
  const std::int64_t split = blockIdx.z;
  const std::int64_t chunk = blockIdx.y;
  const std::int64_t channel = static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  return {split, chunk, channel, (split * plan.chunks + chunk) * layout.channels + channel};
}

template <typename T>
__global__ void forward_moments_kernel(const T* __restrict__ x, split_layout layout,
                                       launch_plan plan, float* __restrict__ shift_out,
                                       float* __restrict__ sum_out,
                                       float* __restrict__ sum_of_squares_out) {
  const auto at = position(plan, layout);
  const bool active = at.channel < layout.channels;
  float shift = 0.0f;
  float sums[2] = {0.0f, 0.0f};
  if (active) {
    shift = load(x, value_index(layout, at.split, chunk_first_row(plan, at.chunk), at.channel));
    for_each_chunk_value(plan, layout, at.split, at.chunk, at.channel, threadIdx.y,
                         [&](std::int64_t i) {
                           const float d = load(x, i) - shift;
                           sums[0] += d;
                           sums[1] += d * d;
                         });
  }
  sum_over_thread_rows(sums);
  if (active && threadIdx.y == 0) {
    shift_out[at.partial] = shift;
    sum_out[at.partial] = sums[0];
    sum_of_squares_out[at.partial] = sums[1];
  }
}

template <typename T>
__global__ void backward_sums_kernel(const T* __restrict__ x, const T* __restrict__ dy,
                                     const float* __restrict__ mean, split_layout layout,
                                     launch_plan plan, float* __restrict__ sum_dy_out,
                                     float* __restrict__ sum_dy_xmu_out) {
  const auto at = position(plan, layout);
  const bool active = at.channel < layout.channels;
  float sums[2] = {0.0f, 0.0f};
  if (active) {
    const float split_mean = mean[at.split * layout.channels + at.channel];
    for_each_chunk_value(plan, layout, at.split, at.chunk, at.channel, threadIdx.y,
                         [&](std::int64_t i) {
                           const float g = load(dy, i);
                           sums[0] += g;
                           sums[1] += g * (load(x, i) - split_mean);
                         });
  }
  sum_over_thread_rows(sums);
  if (active && threadIdx.y == 0) {
    sum_dy_out[at.partial] = sums[0];
    sum_dy_xmu_out[at.partial] = sums[1];
  }
}

template <typename T, bool WithQ>
__global__ void affine_kernel(const T* __restrict__ p, const float* __restrict__ a,
                              const T* __restrict__ q, const float* __restrict__ b,
                              const float* __restrict__ c, split_layout layout, launch_plan plan,
                              T* __restrict__ out) {
  const auto at = position(plan, layout);
  if (at.channel >= layout.channels) return;
  const std::int64_t coefficient = at.split * layout.channels + at.channel;
  const float pa = a[coefficient];
  const float qb = WithQ ? b[coefficient] : 0.0f;
  const float constant = c[coefficient];
  for_each_chunk_value(plan, layout, at.split, at.chunk, at.channel, threadIdx.y,
                       [&](std::int64_t i) {
                         float value = pa * load(p, i) + constant;
                         if constexpr (WithQ) value += qb * load(q, i);
                         out[i] = rounded<T>(value);
                       });
}

// One thread per split and channel.
__global__ void forward_finalize_kernel(
    split_layout layout, launch_plan plan, const float* __restrict__ moments,
    const float* __restrict__ weight, const float* __restrict__ bias, float epsilon, float momentum,
    float* __restrict__ running_mean, float* __restrict__ running_var, float* __restrict__ mean,
    float* __restrict__ inverse_std, float* __restrict__ scale, float* __restrict__ shift) {
  const std::int64_t i = static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= layout.splits * layout.channels) return;
  const std::int64_t split = i / layout.channels;
  const std::int64_t channel = i % layout.channels;
  const std::int64_t part = layout.splits * plan.chunks * layout.channels;
  const auto result = combine_forward(plan, layout, split, channel, moments, moments + part,
                                      moments + 2 * part, weight[channel], bias[channel], epsilon);
  mean[i] = result.mean;
  inverse_std[i] = result.inverse_std;
  scale[i] = result.scale;
  shift[i] = result.shift;
  running_mean[i] = updated_running(running_mean[i], result.mean, momentum);
  running_var[i] =
      updated_running(running_var[i], unbiased_variance(result.variance, layout), momentum);
}

// One thread per channel: the affine pair's gradients add up over the splits in a fixed order.
__global__ void backward_finalize_kernel(
    split_layout layout, launch_plan plan, const float* __restrict__ sums,
    const float* __restrict__ mean, const float* __restrict__ inverse_std,
    const float* __restrict__ weight, float* __restrict__ a, float* __restrict__ b,
    float* __restrict__ c, float* __restrict__ grad_weight, float* __restrict__ grad_bias) {
  const std::int64_t channel = static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (channel >= layout.channels) return;
  const std::int64_t part = layout.splits * plan.chunks * layout.channels;
  float weight_sum = 0;
  float bias_sum = 0;
  for (std::int64_t split = 0; split < layout.splits; ++split) {
    const std::int64_t i = split * layout.channels + channel;
    const auto result = combine_backward(plan, layout, split, channel, sums, sums + part, mean[i],
                                         inverse_std[i], weight[channel]);
    a[i] = result.a;
    b[i] = result.b;
    c[i] = result.c;
    weight_sum += result.weight_part;
    bias_sum += result.sum_dy;
  }
  grad_weight[channel] = weight_sum;
  grad_bias[channel] = bias_sum;
}

unsigned blocks_for(std::int64_t threads) {
  return static_cast<unsigned>((threads + block_threads - 1) / block_threads);
}

const char* launched() {
  const cudaError_t error = cudaGetLastError();
  return error == cudaSuccess ? nullptr : cudaGetErrorString(error);
}

struct launch {
  launch_plan plan;
  dim3 grid;
  dim3 block;
};

launch launch_for(const split_layout& layout) {
  const launch_plan plan = plan_launch(layout);
  return {plan,
          dim3(static_cast<unsigned>(plan.channel_blocks), static_cast<unsigned>(plan.chunks),
               static_cast<unsigned>(layout.splits)),
          dim3(static_cast<unsigned>(plan.block_x), static_cast<unsigned>(plan.block_y))};
}

std::size_t shared_bytes(const launch& l, int values) {
  return sizeof(float) * static_cast<std::size_t>(values) * l.block.x * l.block.y;
}

template <typename T>
const char* launch_forward_statistics(const void* x, const split_layout& layout,
                                      const float* weight, const float* bias, float epsilon,
                                      float momentum, float* running_mean, float* running_var,
                                      float* scratch, float* mean, float* inverse_std, float* scale,
                                      float* shift, cudaStream_t stream) {
  const launch l = launch_for(layout);
  const std::int64_t part = layout.splits * l.plan.chunks * layout.channels;
  forward_moments_kernel<T><<<l.grid, l.block, shared_bytes(l, 2), stream>>>(
      static_cast<const T*>(x), layout, l.plan, scratch, scratch + part, scratch + 2 * part);
  if (const char* error = launched()) return error;
  forward_finalize_kernel<<<blocks_for(layout.splits * layout.channels), block_threads, 0,
                            stream>>>(layout, l.plan, scratch, weight, bias, epsilon, momentum,
                                      running_mean, running_var, mean, inverse_std, scale, shift);
  return launched();
}

template <typename T>
const char* launch_backward_coefficients(const void* x, const void* dy, const split_layout& layout,
                                         const float* mean, const float* inverse_std,
                                         const float* weight, float* scratch, float* a, float* b,
                                         float* c, float* grad_weight, float* grad_bias,
                                         cudaStream_t stream) {
  const launch l = launch_for(layout);
  const std::int64_t part = layout.splits * l.plan.chunks * layout.channels;
  backward_sums_kernel<T><<<l.grid, l.block, shared_bytes(l, 2), stream>>>(
      static_cast<const T*>(x), static_cast<const T*>(dy), mean, layout, l.plan, scratch,
      scratch + part);
  if (const char* error = launched()) return error;
  backward_finalize_kernel<<<blocks_for(layout.channels), block_threads, 0, stream>>>(
      layout, l.plan, scratch, mean, inverse_std, weight, a, b, c, grad_weight, grad_bias);
  return launched();
}

template <typename T>
const char* affine(const void* p, const float* a, const void* q, const float* b, const float* c,
                   const split_layout& layout, void* out, cudaStream_t stream) {
  const launch l = launch_for(layout);
  if (q != nullptr) {
    affine_kernel<T, true><<<l.grid, l.block, 0, stream>>>(static_cast<const T*>(p), a,
                                                           static_cast<const T*>(q), b, c, layout,
                                                           l.plan, static_cast<T*>(out));
  } else {
    affine_kernel<T, false><<<l.grid, l.block, 0, stream>>>(
        static_cast<const T*>(p), a, nullptr, nullptr, c, layout, l.plan, static_cast<T*>(out));
  }
  return launched();
}

}  // namespace

const char* split_forward_statistics(element_type type, const void* x, const split_layout& layout,
                                     const float* weight, const float* bias, float epsilon,
                                     float momentum, float* running_mean, float* running_var,
                                     float* scratch, float* mean, float* inverse_std, float* scale,
                                     float* shift, void* stream) {
  const auto s = static_cast<cudaStream_t>(stream);
  switch (type) {
    case element_type::float32:
      return launch_forward_statistics<float>(x, layout, weight, bias, epsilon, momentum,
                                              running_mean, running_var, scratch, mean, inverse_std,
                                              scale, shift, s);
    case element_type::bfloat16:
      return launch_forward_statistics<__nv_bfloat16>(x, layout, weight, bias, epsilon, momentum,
                                                      running_mean, running_var, scratch, mean,
                                                      inverse_std, scale, shift, s);
    case element_type::float16:
      return launch_forward_statistics<__half>(x, layout, weight, bias, epsilon, momentum,
                                               running_mean, running_var, scratch, mean,
                                               inverse_std, scale, shift, s);
  }
  return "split_forward_statistics: unknown element type";
}

const char* split_backward_coefficients(element_type type, const void* x, const void* dy,
                                        const split_layout& layout, const float* mean,
                                        const float* inverse_std, const float* weight,
                                        float* scratch, float* a, float* b, float* c,
                                        float* grad_weight, float* grad_bias, void* stream) {
  const auto s = static_cast<cudaStream_t>(stream);
  switch (type) {
    case element_type::float32:
      return launch_backward_coefficients<float>(x, dy, layout, mean, inverse_std, weight, scratch,
                                                 a, b, c, grad_weight, grad_bias, s);
    case element_type::bfloat16:
      return launch_backward_coefficients<__nv_bfloat16>(
          x, dy, layout, mean, inverse_std, weight, scratch, a, b, c, grad_weight, grad_bias, s);
    case element_type::float16:
      return launch_backward_coefficients<__half>(x, dy, layout, mean, inverse_std, weight, scratch,
                                                  a, b, c, grad_weight, grad_bias, s);
  }
  return "split_backward_coefficients: unknown element type";
}

const char* split_affine(element_type type, const void* p, const float* a, const void* q,
                         const float* b, const float* c, const split_layout& layout, void* out,
                         void* stream) {
  const auto s = static_cast<cudaStream_t>(stream);
  switch (type) {
    case element_type::float32:
      return affine<float>(p, a, q, b, c, layout, out, s);
    case element_type::bfloat16:
      return affine<__nv_bfloat16>(p, a, q, b, c, layout, out, s);
    case element_type::float16:
      return affine<__half>(p, a, q, b, c, layout, out, s);
  }
  return "split_affine: unknown element type";
}

}  // namespace multigrid::reference::cuda_kernels
