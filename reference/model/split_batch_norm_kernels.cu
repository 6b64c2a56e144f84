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
const char* forward_moments(const void* x, const split_layout& layout, float* shift, float* sum,
                            float* sum_of_squares, cudaStream_t stream) {
  const launch l = launch_for(layout);
  forward_moments_kernel<T><<<l.grid, l.block, shared_bytes(l, 2), stream>>>(
      static_cast<const T*>(x), layout, l.plan, shift, sum, sum_of_squares);
  return launched();
}

template <typename T>
const char* backward_sums(const void* x, const void* dy, const float* mean,
                          const split_layout& layout, float* sum_dy, float* sum_dy_xmu,
                          cudaStream_t stream) {
  const launch l = launch_for(layout);
  backward_sums_kernel<T><<<l.grid, l.block, shared_bytes(l, 2), stream>>>(
      static_cast<const T*>(x), static_cast<const T*>(dy), mean, layout, l.plan, sum_dy,
      sum_dy_xmu);
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

const char* split_forward_moments(element_type type, const void* x, const split_layout& layout,
                                  float* shift, float* sum, float* sum_of_squares, void* stream) {
  const auto s = static_cast<cudaStream_t>(stream);
  switch (type) {
    case element_type::float32:
      return forward_moments<float>(x, layout, shift, sum, sum_of_squares, s);
    case element_type::bfloat16:
      return forward_moments<__nv_bfloat16>(x, layout, shift, sum, sum_of_squares, s);
    case element_type::float16:
      return forward_moments<__half>(x, layout, shift, sum, sum_of_squares, s);
  }
  return "split_forward_moments: unknown element type";
}

const char* split_backward_sums(element_type type, const void* x, const void* dy, const float* mean,
                                const split_layout& layout, float* sum_dy, float* sum_dy_xmu,
                                void* stream) {
  const auto s = static_cast<cudaStream_t>(stream);
  switch (type) {
    case element_type::float32:
      return backward_sums<float>(x, dy, mean, layout, sum_dy, sum_dy_xmu, s);
    case element_type::bfloat16:
      return backward_sums<__nv_bfloat16>(x, dy, mean, layout, sum_dy, sum_dy_xmu, s);
    case element_type::float16:
      return backward_sums<__half>(x, dy, mean, layout, sum_dy, sum_dy_xmu, s);
  }
  return "split_backward_sums: unknown element type";
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
