#include "model/split_batch_norm_kernel_calls.hpp"

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

bool kernels_take(torch::ScalarType type) {
  return type == torch::kFloat || type == torch::kBFloat16 || type == torch::kHalf;
}

// The kernels index x as a (splits * rows, C) matrix: a channels-last-3d tensor without gaps.
cuda_kernels::split_layout layout_of(const torch::Tensor& x, std::int64_t splits) {
  TORCH_CHECK(x.dim() == 5 && x.is_contiguous(at::MemoryFormat::ChannelsLast3d) &&
                  kernels_take(x.scalar_type()),
              "sub-batch BN's kernels: expected a channels-last-3d tensor of float, bf16 or half, "
              "got ",
              x.sizes(), " ", x.scalar_type(), " with strides ", x.strides());
  TORCH_CHECK(x.numel() > 0, "sub-batch BN's kernels: an empty batch");
  TORCH_CHECK(splits >= 1 && splits <= 65535 && x.size(0) % splits == 0,
              "sub-batch BN's kernels: ", splits, " splits of a batch of ", x.size(0));
  const auto channels = x.size(1);
  return {splits, x.numel() / (splits * channels), channels};
}

void check_alike(const torch::Tensor& x, const torch::Tensor& other) {
  TORCH_CHECK(other.sizes() == x.sizes() && other.scalar_type() == x.scalar_type() &&
                  other.device() == x.device() &&
                  other.is_contiguous(at::MemoryFormat::ChannelsLast3d),
              "sub-batch BN's kernels: a ", other.sizes(), " ", other.scalar_type(),
              " tensor beside the activations ", x.sizes(), " ", x.scalar_type());
}

bool float_values(const torch::Tensor& t, std::int64_t count, const torch::Device& device) {
  return t.scalar_type() == torch::kFloat && t.is_contiguous() && t.numel() == count &&
         t.device() == device;
}

void check_launch(const char* error, const char* kernel) {
  TORCH_CHECK(error == nullptr, "sub-batch BN's kernel ", kernel, ": ", error);
}

float* floats(const torch::Tensor& t) {
  return t.data_ptr<float>();
}

}  // namespace

bool kernels_apply(const torch::Tensor& x, at::MemoryFormat format, const torch::Tensor& weight,
                   const torch::Tensor& bias, const torch::Tensor& running_mean,
                   const torch::Tensor& running_var) {
  const auto channels = x.size(1);
  return format == at::MemoryFormat::ChannelsLast3d && kernels_take(x.scalar_type()) &&
         x.numel() > 0 && float_values(weight, channels, x.device()) &&
         float_values(bias, channels, x.device()) &&
         float_values(running_mean, running_mean.numel(), x.device()) &&
         float_values(running_var, running_var.numel(), x.device());
}

batched_forward_result kernels_batched_forward(const torch::Tensor& x, const torch::Tensor& weight,
                                               const torch::Tensor& bias,
                                               const torch::Tensor& running_mean,
                                               const torch::Tensor& running_var,
                                               std::int64_t splits, double momentum, double epsilon,
                                               void* stream) {
  const auto layout = layout_of(x, splits);
  TORCH_CHECK(float_values(running_mean, splits * layout.channels, x.device()) &&
                  float_values(running_var, splits * layout.channels, x.device()) &&
                  float_values(weight, layout.channels, x.device()) &&
                  float_values(bias, layout.channels, x.device()),
              "sub-batch BN's kernels: float parameters and running statistics on the "
              "activations' device expected");
  const auto options = x.options().dtype(torch::kFloat);
  auto scratch = torch::empty({cuda_kernels::scratch_floats(layout, 3)}, options);
  auto statistics = torch::empty({4, splits, layout.channels}, options);
  const auto mean = statistics[0];
  const auto inverse_std = statistics[1];
  const auto scale = statistics[2];
  const auto shift = statistics[3];
  check_launch(cuda_kernels::split_forward_statistics(
                   element_type_of(x), x.data_ptr(), layout, floats(weight), floats(bias),
                   static_cast<float>(epsilon), static_cast<float>(momentum), floats(running_mean),
                   floats(running_var), floats(scratch), floats(mean), floats(inverse_std),
                   floats(scale), floats(shift), stream),
               "split_forward_statistics");
  auto output = torch::empty_like(x, x.options(), at::MemoryFormat::ChannelsLast3d);
  check_launch(
      cuda_kernels::split_affine(element_type_of(x), x.data_ptr(), floats(scale), nullptr, nullptr,
                                 floats(shift), layout, output.data_ptr(), stream),
      "split_affine");
  return {output, mean, inverse_std};
}

batched_backward_result kernels_batched_backward(const torch::Tensor& x, const torch::Tensor& dy,
                                                 const torch::Tensor& weight,
                                                 const torch::Tensor& mean,
                                                 const torch::Tensor& inverse_std, void* stream) {
  const auto splits = mean.size(0);
  const auto layout = layout_of(x, splits);
  check_alike(x, dy);
  TORCH_CHECK(float_values(mean, splits * layout.channels, x.device()) &&
                  float_values(inverse_std, splits * layout.channels, x.device()) &&
                  float_values(weight, layout.channels, x.device()),
              "sub-batch BN's kernels: float statistics and weight on the activations' "
              "device expected");
  const auto options = x.options().dtype(torch::kFloat);
  auto scratch = torch::empty({cuda_kernels::scratch_floats(layout, 2)}, options);
  auto coefficients = torch::empty({3, splits, layout.channels}, options);
  auto affine_parts = torch::empty({2, splits, layout.channels}, options);
  const auto a = coefficients[0];
  const auto b = coefficients[1];
  const auto c = coefficients[2];
  check_launch(cuda_kernels::split_backward_coefficients(
                   element_type_of(x), x.data_ptr(), dy.data_ptr(), layout, floats(mean),
                   floats(inverse_std), floats(weight), floats(scratch), floats(a), floats(b),
                   floats(c), floats(affine_parts), stream),
               "split_backward_coefficients");
  // One gamma and beta for every split: their gradients add up.
  const auto affine_gradients = affine_parts.sum(1);
  auto grad_input = torch::empty_like(x, x.options(), at::MemoryFormat::ChannelsLast3d);
  check_launch(
      cuda_kernels::split_affine(element_type_of(x), dy.data_ptr(), floats(a), x.data_ptr(),
                                 floats(b), floats(c), layout, grad_input.data_ptr(), stream),
      "split_affine");
  return {grad_input, affine_gradients[0], affine_gradients[1]};
}

}  // namespace multigrid::reference
