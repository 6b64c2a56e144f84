#include "model/split_batch_norm_cuda.hpp"

#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>

#include <string>

#include "model/split_batch_norm_kernels.hpp"

namespace multigrid::reference {
namespace {

cuda_kernels::element_type element_type_of(const torch::Tensor& x) {
  switch (x.scalar_type()) {
    case torch::kBFloat16:
      return cuda_kernels::element_type::bfloat16;
    case torch::kHalf:
      return cuda_kernels::element_type::float16;
    default:
      return cuda_kernels::element_type::float32;
  }
}

// The kernels index x as a (splits * rows, C) matrix: a channels-last-3d tensor without gaps.
cuda_kernels::split_layout layout_of(const torch::Tensor& x, std::int64_t splits) {
  TORCH_CHECK(x.is_cuda() && x.dim() == 5 && x.is_contiguous(at::MemoryFormat::ChannelsLast3d),
              "sub-batch BN's CUDA kernels: expected a channels-last-3d CUDA tensor, got ",
              x.sizes(), " with strides ", x.strides());
  TORCH_CHECK(splits >= 1 && splits <= 65535 && x.size(0) % splits == 0,
              "sub-batch BN's CUDA kernels: ", splits, " splits of a batch of ", x.size(0));
  const auto channels = x.size(1);
  return {splits, x.numel() / (splits * channels), channels};
}

void check_alike(const torch::Tensor& x, const torch::Tensor& other) {
  TORCH_CHECK(other.sizes() == x.sizes() && other.scalar_type() == x.scalar_type() &&
                  other.device() == x.device() &&
                  other.is_contiguous(at::MemoryFormat::ChannelsLast3d),
              "sub-batch BN's CUDA kernels: a ", other.sizes(), " ", other.scalar_type(),
              " tensor beside the activations ", x.sizes(), " ", x.scalar_type());
}

torch::Tensor coefficients(const torch::Tensor& values) {
  return values.to(torch::kFloat).contiguous();
}

void check_launch(const char* error, const char* kernel) {
  TORCH_CHECK(error == nullptr, "sub-batch BN's CUDA kernel ", kernel, ": ", error);
}

void* current_stream(const torch::Tensor& x) {
  return c10::cuda::getCurrentCUDAStream(x.device().index()).stream();
}

}  // namespace

bool cuda_kernels_apply(const torch::Tensor& x, at::MemoryFormat format) {
  const auto type = x.scalar_type();
  return x.is_cuda() && format == at::MemoryFormat::ChannelsLast3d &&
         (type == torch::kFloat || type == torch::kBFloat16 || type == torch::kHalf);
}

std::pair<torch::Tensor, torch::Tensor> cuda_forward_statistics(const torch::Tensor& x,
                                                                std::int64_t splits) {
  const c10::cuda::CUDAGuard guard(x.device());
  const auto layout = layout_of(x, splits);
  const auto plan = cuda_kernels::plan_launch(layout);
  auto partial =
      torch::empty({3, splits, plan.chunks, layout.channels}, x.options().dtype(torch::kFloat));
  check_launch(cuda_kernels::split_forward_moments(
                   element_type_of(x), x.data_ptr(), layout, partial[0].data_ptr<float>(),
                   partial[1].data_ptr<float>(), partial[2].data_ptr<float>(), current_stream(x)),
               "split_forward_moments");
  return combine_chunk_moments(partial[0], partial[1], partial[2], plan.rows_per_chunk,
                               layout.rows);
}

std::pair<torch::Tensor, torch::Tensor> cuda_backward_sums(const torch::Tensor& x,
                                                           const torch::Tensor& dy,
                                                           const torch::Tensor& mean,
                                                           std::int64_t splits) {
  const c10::cuda::CUDAGuard guard(x.device());
  const auto layout = layout_of(x, splits);
  check_alike(x, dy);
  const auto plan = cuda_kernels::plan_launch(layout);
  auto partial =
      torch::empty({2, splits, plan.chunks, layout.channels}, x.options().dtype(torch::kFloat));
  const auto split_mean = coefficients(mean);
  check_launch(cuda_kernels::split_backward_sums(element_type_of(x), x.data_ptr(), dy.data_ptr(),
                                                 split_mean.data_ptr<float>(), layout,
                                                 partial[0].data_ptr<float>(),
                                                 partial[1].data_ptr<float>(), current_stream(x)),
               "split_backward_sums");
  const auto sums = partial.sum(2);
  return {sums[0], sums[1]};
}

void cuda_affine(const torch::Tensor& p, const torch::Tensor& a, const torch::Tensor& q,
                 const torch::Tensor& b, const torch::Tensor& c, std::int64_t splits,
                 torch::Tensor& out) {
  const c10::cuda::CUDAGuard guard(p.device());
  const auto layout = layout_of(p, splits);
  check_alike(p, out);
  if (q.defined()) check_alike(p, q);
  const auto a_values = coefficients(a);
  const auto b_values = q.defined() ? coefficients(b) : torch::Tensor();
  const auto c_values = coefficients(c);
  check_launch(
      cuda_kernels::split_affine(
          element_type_of(p), p.data_ptr(), a_values.data_ptr<float>(),
          q.defined() ? q.data_ptr() : nullptr, q.defined() ? b_values.data_ptr<float>() : nullptr,
          c_values.data_ptr<float>(), layout, out.data_ptr(), current_stream(p)),
      "split_affine");
}

}  // namespace multigrid::reference
