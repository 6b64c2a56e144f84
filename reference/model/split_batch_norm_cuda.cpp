#include "model/split_batch_norm_cuda.hpp"

#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>

#include <stdexcept>
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

cuda_kernels::split_layout layout_of(const torch::Tensor& x, std::int64_t splits) {
  const auto channels = x.size(1);
  return {splits, x.numel() / (splits * channels), channels};
}

void check_launch(const char* error, const char* kernel) {
  if (error != nullptr) {
    throw std::runtime_error(std::string("sub-batch BN's CUDA kernel ") + kernel + ": " + error);
  }
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

std::pair<torch::Tensor, torch::Tensor> cuda_backward_sums(const torch::Tensor& x,
                                                           const torch::Tensor& dy,
                                                           const torch::Tensor& mean,
                                                           std::int64_t splits) {
  const c10::cuda::CUDAGuard guard(x.device());
  const auto layout = layout_of(x, splits);
  const auto plan = cuda_kernels::plan_sums(layout);
  auto partial =
      torch::empty({2, splits, plan.chunks, layout.channels}, x.options().dtype(torch::kFloat));
  const auto split_mean = mean.to(torch::kFloat).contiguous();
  check_launch(cuda_kernels::split_backward_sums(element_type_of(x), x.data_ptr(), dy.data_ptr(),
                                                 split_mean.data_ptr<float>(), layout,
                                                 partial[0].data_ptr<float>(),
                                                 partial[1].data_ptr<float>(), current_stream(x)),
               "split_backward_sums");
  const auto sums = partial.sum(2);
  return {sums[0], sums[1]};
}

void cuda_backward_input(const torch::Tensor& x, const torch::Tensor& dy, const torch::Tensor& a,
                         const torch::Tensor& b, const torch::Tensor& c, std::int64_t splits,
                         torch::Tensor& grad_input) {
  const c10::cuda::CUDAGuard guard(x.device());
  const auto as_float = [](const torch::Tensor& t) { return t.to(torch::kFloat).contiguous(); };
  const auto a_values = as_float(a);
  const auto b_values = as_float(b);
  const auto c_values = as_float(c);
  check_launch(cuda_kernels::split_backward_input(
                   element_type_of(x), x.data_ptr(), dy.data_ptr(), a_values.data_ptr<float>(),
                   b_values.data_ptr<float>(), c_values.data_ptr<float>(), layout_of(x, splits),
                   grad_input.data_ptr(), current_stream(x)),
               "split_backward_input");
}

}  // namespace multigrid::reference
