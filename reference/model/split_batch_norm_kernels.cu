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

// Where sum_over_thread_rows meets: two values per thread of the largest block. Static, so that
// the launches need no size of their own and a CPU test can run these kernels as written
// (tests/model/cuda_emulation); at namespace scope, where that test's emulation can fill it before
// each block as a GPU leaves it undefined (GCC ignores its section on a function template's).
constexpr int most_thread_values = 2;
__shared__ float thread_row_values[most_thread_values * block_threads];

// Adds the block's per-thread values over its thread rows, in a fixed order so that a step gives
// the same sums every time; thread row 0 holds the results. Every thread of the block calls it.
template <int Count>
__device__ void sum_over_thread_rows(float (&values)[Count]) {
  static_assert(Count <= most_thread_values);
  float* const shared = thread_row_values;
  const unsigned threads = blockDim.x * blockDim.y;
  const unsigned slot = threadIdx.y * blockDim.x + threadIdx.x;
  for (int v = 0; v < Count; ++v) shared[v * threads + slot] = values[v];
  __syncthreads();
  if (threadIdx.y == 0) {
    for (unsigned y = 1; y < blockDim.y; ++y) {
      for (int v = 0; v < Count; ++v) {
        values[v] += shared[v * threads + y * blockDim.x + threadIdx.x];
      }
    }
  }
  __syncthreads();  // read before a next call writes
}

// The block's split and the thread's channel: grids are (channel blocks, chunks, splits) for
// the activation kernels and (channel blocks, splits) for the combining ones.
__device__ __forceinline__ std::int64_t thread_channel() {
  return static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
}

template <typename T>
__global__ void __launch_bounds__(block_threads, 8)
    forward_moments_kernel(const T* __restrict__ x, split_layout layout, launch_plan plan,
                           float* __restrict__ moments) {
  const std::int64_t split = blockIdx.z;
  const std::int64_t chunk = blockIdx.y;
  const std::int64_t channel = thread_channel();
  const bool active = channel < layout.channels;
  float shift = 0.0f;
  float sums[2] = {0.0f, 0.0f};
  if (active) {
    shift = load(x, value_index(layout, split, chunk_first_row(plan, chunk), channel));
    for_each_chunk_value(plan, layout, split, chunk, channel, threadIdx.y, [&](std::int64_t i) {
      const float d = load(x, i) - shift;
      sums[0] += d;
      sums[1] += d * d;
    });
  }
  sum_over_thread_rows(sums);
  if (active && threadIdx.y == 0) {
    const std::int64_t part = layout.splits * plan.chunks * layout.channels;
    const std::int64_t i = partial_index(plan, layout, split, chunk, channel);
    moments[i] = shift;
    moments[part + i] = sums[0];
    moments[2 * part + i] = sums[1];
  }
}

template <typename T>
__global__ void __launch_bounds__(block_threads, 8)
    backward_sums_kernel(const T* __restrict__ x, const T* __restrict__ dy,
                         const float* __restrict__ mean, split_layout layout, launch_plan plan,
                         float* __restrict__ sums_out) {
  const std::int64_t split = blockIdx.z;
  const std::int64_t chunk = blockIdx.y;
  const std::int64_t channel = thread_channel();
  const bool active = channel < layout.channels;
  float sums[2] = {0.0f, 0.0f};
  if (active) {
    const float split_mean = mean[split * layout.channels + channel];
    for_each_chunk_value(plan, layout, split, chunk, channel, threadIdx.y, [&](std::int64_t i) {
      const float g = load(dy, i);
      sums[0] += g;
      sums[1] += g * (load(x, i) - split_mean);
    });
  }
  sum_over_thread_rows(sums);
  if (active && threadIdx.y == 0) {
    const std::int64_t part = layout.splits * plan.chunks * layout.channels;
    const std::int64_t i = partial_index(plan, layout, split, chunk, channel);
    sums_out[i] = sums[0];
    sums_out[part + i] = sums[1];
  }
}

template <typename T, bool WithQ>
__global__ void __launch_bounds__(block_threads, 8)
    affine_kernel(const T* __restrict__ p, const float* __restrict__ a, const T* __restrict__ q,
                  const float* __restrict__ b, const float* __restrict__ c, split_layout layout,
                  launch_plan plan, T* __restrict__ out) {
  const std::int64_t split = blockIdx.z;
  const std::int64_t chunk = blockIdx.y;
  const std::int64_t channel = thread_channel();
  if (channel >= layout.channels) return;
  const std::int64_t coefficient = split * layout.channels + channel;
  const float pa = a[coefficient];
  const float qb = WithQ ? b[coefficient] : 0.0f;
  const float constant = c[coefficient];
  for_each_chunk_value(plan, layout, split, chunk, channel, threadIdx.y, [&](std::int64_t i) {
    float value = pa * load(p, i) + constant;
    if constexpr (WithQ) value += qb * load(q, i);
    out[i] = rounded<T>(value);
  });
}

// Block (channel block, split), shaped like the activation kernels' blocks; its thread rows
// spread over the split's chunks (for_each_thread_chunk). One pass for the mean, one for the
// squares about it.
__global__ void __launch_bounds__(block_threads)
    forward_finalize_kernel(split_layout layout, launch_plan plan,
                            const float* __restrict__ moments, const float* __restrict__ weight,
                            const float* __restrict__ bias, float epsilon, float momentum,
                            float* __restrict__ running_mean, float* __restrict__ running_var,
                            float* __restrict__ mean, float* __restrict__ inverse_std,
                            float* __restrict__ scale, float* __restrict__ shift) {
  __shared__ float split_means[32];
  const std::int64_t split = blockIdx.y;
  const std::int64_t channel = thread_channel();
  const bool active = channel < layout.channels;
  const std::int64_t part = layout.splits * plan.chunks * layout.channels;
  const auto moment = [&](std::int64_t chunk, int which) {
    return moments[which * part + partial_index(plan, layout, split, chunk, channel)];
  };
  float total[1] = {0.0f};
  if (active) {
    for_each_thread_chunk(plan, threadIdx.y, [&](std::int64_t chunk) {
      total[0] += chunk_total(chunk_rows(plan, layout, chunk), moment(chunk, 0), moment(chunk, 1));
    });
  }
  sum_over_thread_rows(total);
  if (threadIdx.y == 0) split_means[threadIdx.x] = total[0] / static_cast<float>(layout.rows);
  __syncthreads();
  const float split_mean = split_means[threadIdx.x];
  float squares[1] = {0.0f};
  if (active) {
    for_each_thread_chunk(plan, threadIdx.y, [&](std::int64_t chunk) {
      squares[0] += chunk_squares(chunk_rows(plan, layout, chunk), moment(chunk, 0),
                                  moment(chunk, 1), moment(chunk, 2), split_mean);
    });
  }
  sum_over_thread_rows(squares);
  if (!active || threadIdx.y != 0) return;
  const std::int64_t i = split * layout.channels + channel;
  const auto result =
      finish_forward(split_mean, squares[0], layout, weight[channel], bias[channel], epsilon);
  mean[i] = result.mean;
  inverse_std[i] = result.inverse_std;
  scale[i] = result.scale;
  shift[i] = result.shift;
  running_mean[i] = updated_running(running_mean[i], result.mean, momentum);
  running_var[i] =
      updated_running(running_var[i], unbiased_variance(result.variance, layout), momentum);
}

// The same blocks: dx's coefficients per split and channel, and the split's parts of the affine
// pair's gradients (affine_parts: (2, splits, channels), added over the splits by the caller).
__global__ void __launch_bounds__(block_threads)
    backward_finalize_kernel(split_layout layout, launch_plan plan, const float* __restrict__ sums,
                             const float* __restrict__ mean, const float* __restrict__ inverse_std,
                             const float* __restrict__ weight, float* __restrict__ a,
                             float* __restrict__ b, float* __restrict__ c,
                             float* __restrict__ affine_parts) {
  const std::int64_t split = blockIdx.y;
  const std::int64_t channel = thread_channel();
  const bool active = channel < layout.channels;
  const std::int64_t part = layout.splits * plan.chunks * layout.channels;
  float totals[2] = {0.0f, 0.0f};
  if (active) {
    for_each_thread_chunk(plan, threadIdx.y, [&](std::int64_t chunk) {
      const std::int64_t i = partial_index(plan, layout, split, chunk, channel);
      totals[0] += sums[i];
      totals[1] += sums[part + i];
    });
  }
  sum_over_thread_rows(totals);
  if (!active || threadIdx.y != 0) return;
  const std::int64_t i = split * layout.channels + channel;
  const auto result =
      finish_backward(totals[0], totals[1], layout, mean[i], inverse_std[i], weight[channel]);
  a[i] = result.a;
  b[i] = result.b;
  c[i] = result.c;
  affine_parts[i] = result.weight_part;
  affine_parts[layout.splits * layout.channels + i] = result.bias_part;
}

// Keeps the arguments out of deduction, so that the kernel alone fixes their types.
template <typename T>
struct type_identity {
  using type = T;
};

// Launches through cudaLaunchKernel rather than <<<>>>, so that this file is plain C++ to a CPU
// test that runs its kernels (tests/model/cuda_emulation); the arguments convert to the kernel's
// parameter types here, where <<<>>> would have converted them.
template <typename... Parameters>
const char* launch(void (*kernel)(Parameters...), dim3 grid, dim3 block, cudaStream_t stream,
                   typename type_identity<Parameters>::type... arguments) {
  void* pointers[] = {&arguments...};
  const cudaError_t error = cudaLaunchKernel(kernel, grid, block, pointers, 0, stream);
  if (error == cudaSuccess) return nullptr;
  cudaGetLastError();  // taken: LibTorch's next check would blame its own kernel for it
  return cudaGetErrorString(error);
}

struct launch_shape {
  launch_plan plan;
  dim3 grid;       ///< activation kernels: (channel blocks, chunks, splits)
  dim3 combining;  ///< combining kernels: (channel blocks, splits)
  dim3 block;
};

launch_shape launch_for(const split_layout& layout) {
  const launch_plan plan = plan_launch(layout);
  const auto channel_blocks = static_cast<unsigned>(plan.channel_blocks);
  const auto splits = static_cast<unsigned>(layout.splits);
  return {plan, dim3(channel_blocks, static_cast<unsigned>(plan.chunks), splits),
          dim3(channel_blocks, splits),
          dim3(static_cast<unsigned>(plan.block_x), static_cast<unsigned>(plan.block_y))};
}

template <typename T>
const char* launch_forward_statistics(const void* x, const split_layout& layout,
                                      const float* weight, const float* bias, float epsilon,
                                      float momentum, float* running_mean, float* running_var,
                                      float* scratch, float* mean, float* inverse_std, float* scale,
                                      float* shift, cudaStream_t stream) {
  const launch_shape shape = launch_for(layout);
  if (const char* error = launch(forward_moments_kernel<T>, shape.grid, shape.block, stream,
                                 static_cast<const T*>(x), layout, shape.plan, scratch)) {
    return error;
  }
  return launch(forward_finalize_kernel, shape.combining, shape.block, stream, layout, shape.plan,
                scratch, weight, bias, epsilon, momentum, running_mean, running_var, mean,
                inverse_std, scale, shift);
}

template <typename T>
const char* launch_backward_coefficients(const void* x, const void* dy, const split_layout& layout,
                                         const float* mean, const float* inverse_std,
                                         const float* weight, float* scratch, float* a, float* b,
                                         float* c, float* affine_parts, cudaStream_t stream) {
  const launch_shape shape = launch_for(layout);
  if (const char* error =
          launch(backward_sums_kernel<T>, shape.grid, shape.block, stream, static_cast<const T*>(x),
                 static_cast<const T*>(dy), mean, layout, shape.plan, scratch)) {
    return error;
  }
  return launch(backward_finalize_kernel, shape.combining, shape.block, stream, layout, shape.plan,
                scratch, mean, inverse_std, weight, a, b, c, affine_parts);
}

template <typename T>
const char* launch_affine(const void* p, const float* a, const void* q, const float* b,
                          const float* c, const split_layout& layout, void* out,
                          cudaStream_t stream) {
  const launch_shape shape = launch_for(layout);
  if (q != nullptr) {
    return launch(affine_kernel<T, true>, shape.grid, shape.block, stream, static_cast<const T*>(p),
                  a, static_cast<const T*>(q), b, c, layout, shape.plan, static_cast<T*>(out));
  }
  return launch(affine_kernel<T, false>, shape.grid, shape.block, stream, static_cast<const T*>(p),
                a, nullptr, nullptr, c, layout, shape.plan, static_cast<T*>(out));
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
                                        float* affine_parts, void* stream) {
  const auto s = static_cast<cudaStream_t>(stream);
  switch (type) {
    case element_type::float32:
      return launch_backward_coefficients<float>(x, dy, layout, mean, inverse_std, weight, scratch,
                                                 a, b, c, affine_parts, s);
    case element_type::bfloat16:
      return launch_backward_coefficients<__nv_bfloat16>(x, dy, layout, mean, inverse_std, weight,
                                                         scratch, a, b, c, affine_parts, s);
    case element_type::float16:
      return launch_backward_coefficients<__half>(x, dy, layout, mean, inverse_std, weight, scratch,
                                                  a, b, c, affine_parts, s);
  }
  return "split_backward_coefficients: unknown element type";
}

const char* split_affine(element_type type, const void* p, const float* a, const void* q,
                         const float* b, const float* c, const split_layout& layout, void* out,
                         void* stream) {
  const auto s = static_cast<cudaStream_t>(stream);
  switch (type) {
    case element_type::float32:
      return launch_affine<float>(p, a, q, b, c, layout, out, s);
    case element_type::bfloat16:
      return launch_affine<__nv_bfloat16>(p, a, q, b, c, layout, out, s);
    case element_type::float16:
      return launch_affine<__half>(p, a, q, b, c, layout, out, s);
  }
  return "split_affine: unknown element type";
}

}  // namespace multigrid::reference::cuda_kernels
