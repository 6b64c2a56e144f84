#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

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

// Block (channel block, chunk, split) sums its chunk's rows for its channels (plan_sums).
template <typename T>
__global__ void backward_sums_kernel(const T* __restrict__ x, const T* __restrict__ dy,
                                     const float* __restrict__ mean, split_layout layout,
                                     sums_plan plan, float* __restrict__ partial_dy,
                                     float* __restrict__ partial_dy_xmu) {
  extern __shared__ float shared[];
  const std::int64_t split = blockIdx.z;
  const std::int64_t chunk = blockIdx.y;
  const std::int64_t channel = static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  float sum_dy = 0.0f;
  float sum_dy_xmu = 0.0f;
  if (channel < layout.channels) {
    const float split_mean = mean[split * layout.channels + channel];
    for_each_chunk_row(plan, layout, chunk, threadIdx.y, [&](std::int64_t row) {
      const std::int64_t i = value_index(layout, split, row, channel);
      const float g = load(dy, i);
      sum_dy += g;
      sum_dy_xmu += g * (load(x, i) - split_mean);
    });
  }
  const unsigned threads = blockDim.x * blockDim.y;
  const unsigned slot = threadIdx.y * blockDim.x + threadIdx.x;
  shared[slot] = sum_dy;
  shared[threads + slot] = sum_dy_xmu;
  __syncthreads();
  // In a fixed order, so that a step gives the same sums every time.
  if (threadIdx.y == 0 && channel < layout.channels) {
    for (unsigned y = 1; y < blockDim.y; ++y) {
      sum_dy += shared[y * blockDim.x + threadIdx.x];
      sum_dy_xmu += shared[threads + y * blockDim.x + threadIdx.x];
    }
    const std::int64_t out = (split * plan.chunks + chunk) * layout.channels + channel;
    partial_dy[out] = sum_dy;
    partial_dy_xmu[out] = sum_dy_xmu;
  }
}

template <typename T>
__global__ void backward_input_kernel(const T* __restrict__ x, const T* __restrict__ dy,
                                      const float* __restrict__ a, const float* __restrict__ b,
                                      const float* __restrict__ c, split_layout layout,
                                      T* __restrict__ dx) {
  const std::int64_t split = blockIdx.y;
  const std::int64_t base = split * layout.rows * layout.channels;
  const float* split_a = a + split * layout.channels;
  const float* split_b = b + split * layout.channels;
  const float* split_c = c + split * layout.channels;
  for_each_split_value(layout, gridDim.x, blockIdx.x, threadIdx.x,
                       [&](std::int64_t j, std::int64_t channel) {
                         const std::int64_t i = base + j;
                         dx[i] = rounded<T>(split_a[channel] * load(dy, i) +
                                            split_b[channel] * load(x, i) + split_c[channel]);
                       });
}

const char* launched() {
  const cudaError_t error = cudaGetLastError();
  return error == cudaSuccess ? nullptr : cudaGetErrorString(error);
}

template <typename T>
const char* sums(const void* x, const void* dy, const float* mean, const split_layout& layout,
                 float* partial_dy, float* partial_dy_xmu, cudaStream_t stream) {
  const sums_plan plan = plan_sums(layout);
  const dim3 block(static_cast<unsigned>(plan.block_x), static_cast<unsigned>(plan.block_y));
  const dim3 grid(static_cast<unsigned>(plan.channel_blocks), static_cast<unsigned>(plan.chunks),
                  static_cast<unsigned>(layout.splits));
  const std::size_t shared = 2 * sizeof(float) * block.x * block.y;
  backward_sums_kernel<T><<<grid, block, shared, stream>>>(static_cast<const T*>(x),
                                                           static_cast<const T*>(dy), mean, layout,
                                                           plan, partial_dy, partial_dy_xmu);
  return launched();
}

template <typename T>
const char* input_gradient(const void* x, const void* dy, const float* a, const float* b,
                           const float* c, const split_layout& layout, void* dx,
                           cudaStream_t stream) {
  const dim3 grid(static_cast<unsigned>(input_blocks_per_split(layout)),
                  static_cast<unsigned>(layout.splits));
  backward_input_kernel<T><<<grid, block_threads, 0, stream>>>(
      static_cast<const T*>(x), static_cast<const T*>(dy), a, b, c, layout, static_cast<T*>(dx));
  return launched();
}

}  // namespace

const char* split_backward_sums(element_type type, const void* x, const void* dy, const float* mean,
                                const split_layout& layout, float* partial_dy,
                                float* partial_dy_xmu, void* stream) {
  const auto cuda_stream = static_cast<cudaStream_t>(stream);
  switch (type) {
    case element_type::float32:
      return sums<float>(x, dy, mean, layout, partial_dy, partial_dy_xmu, cuda_stream);
    case element_type::bfloat16:
      return sums<__nv_bfloat16>(x, dy, mean, layout, partial_dy, partial_dy_xmu, cuda_stream);
    case element_type::float16:
      return sums<__half>(x, dy, mean, layout, partial_dy, partial_dy_xmu, cuda_stream);
  }
  return "split_backward_sums: unknown element type";
}

const char* split_backward_input(element_type type, const void* x, const void* dy, const float* a,
                                 const float* b, const float* c, const split_layout& layout,
                                 void* dx, void* stream) {
  const auto cuda_stream = static_cast<cudaStream_t>(stream);
  switch (type) {
    case element_type::float32:
      return input_gradient<float>(x, dy, a, b, c, layout, dx, cuda_stream);
    case element_type::bfloat16:
      return input_gradient<__nv_bfloat16>(x, dy, a, b, c, layout, dx, cuda_stream);
    case element_type::float16:
      return input_gradient<__half>(x, dy, a, b, c, layout, dx, cuda_stream);
  }
  return "split_backward_input: unknown element type";
}

}  // namespace multigrid::reference::cuda_kernels
