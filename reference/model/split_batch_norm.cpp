#include "model/split_batch_norm.hpp"

#include <stdexcept>
#include <vector>

namespace multigrid::reference {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

at::MemoryFormat format_of(const torch::Tensor& input) {
  return !input.is_contiguous() && input.is_contiguous(at::MemoryFormat::ChannelsLast3d)
             ? at::MemoryFormat::ChannelsLast3d
             : at::MemoryFormat::Contiguous;
}

// Split j's rows of the batch: a view, contiguous in the tensor's own memory format.
torch::Tensor block(const torch::Tensor& tensor, std::int64_t j, std::int64_t size) {
  return tensor.narrow(0, j * size, size);
}

class SplitBatchNormFunction : public torch::autograd::Function<SplitBatchNormFunction> {
 public:
  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& input,
                               const torch::Tensor& weight, const torch::Tensor& bias,
                               const torch::Tensor& running_mean, const torch::Tensor& running_var,
                               std::int64_t splits, double momentum, double epsilon) {
    const auto format = format_of(input);
    const auto x = input.contiguous(format);  // a no-op for the layers' own outputs
    const auto channels = x.size(1);
    const auto rows = x.size(0) / splits;
    auto output = torch::empty_like(x, x.options(), format);
    // The statistics LibTorch's kernel keeps for backward: float for every input type.
    const auto statistics_options =
        x.options().dtype(x.scalar_type() == torch::kDouble ? torch::kDouble : torch::kFloat);
    auto mean = torch::empty({splits, channels}, statistics_options);
    auto inverse_std = torch::empty({splits, channels}, statistics_options);
    for (std::int64_t j = 0; j < splits; ++j) {
      auto out = block(output, j, rows);
      auto split_mean = mean[j];
      auto split_inverse_std = inverse_std[j];
      const auto in = block(x, j, rows);
      const auto split_running_mean = running_mean.narrow(0, j * channels, channels);
      const auto split_running_var = running_var.narrow(0, j * channels, channels);
      // LibTorch 1.13 has no CPU kernel that writes into a given output: the split's result is
      // copied into place (a split's worth of memory, not the activation's).
      const auto [result, result_mean, result_inverse_std] =
          at::native_batch_norm(in, weight, bias, split_running_mean, split_running_var,
                                /*training=*/true, momentum, epsilon);
      out.copy_(result);
      split_mean.copy_(result_mean);
      split_inverse_std.copy_(result_inverse_std);
    }
    ctx->save_for_backward({x, weight, mean, inverse_std});
    ctx->saved_data["epsilon"] = epsilon;
    return output;
  }

  static variable_list backward(AutogradContext* ctx, variable_list grad_outputs) {
    const auto saved = ctx->get_saved_variables();
    const auto& x = saved[0];
    const auto& weight = saved[1];
    const auto& mean = saved[2];
    const auto& inverse_std = saved[3];
    const double epsilon = ctx->saved_data["epsilon"].toDouble();
    const auto splits = mean.size(0);
    const auto rows = x.size(0) / splits;
    const auto format = format_of(x);
    const auto grad_output = grad_outputs[0].contiguous(format);

    auto grad_input = torch::empty_like(x, x.options(), format);
    auto grad_weight = torch::zeros_like(weight);
    auto grad_bias = torch::zeros_like(weight);
    auto split_grad_weight = torch::empty_like(weight);
    auto split_grad_bias = torch::empty_like(weight);
    for (std::int64_t j = 0; j < splits; ++j) {
      auto grad_block = block(grad_input, j, rows);
      at::native_batch_norm_backward_out(grad_block, split_grad_weight, split_grad_bias,
                                         block(grad_output, j, rows), block(x, j, rows), weight,
                                         /*running_mean=*/{}, /*running_var=*/{}, mean[j],
                                         inverse_std[j], /*train=*/true, epsilon,
                                         {true, true, true});
      // One gamma and beta for every split: their gradients add up.
      grad_weight.add_(split_grad_weight);
      grad_bias.add_(split_grad_bias);
    }
    return {grad_input,      grad_weight,     grad_bias,       torch::Tensor(),
            torch::Tensor(), torch::Tensor(), torch::Tensor(), torch::Tensor()};
  }
};

// Identity whose backward hands the gradient on in `format`: the regrouping's views can give
// the input's gradient other strides (one clip per split merges the batch with the splits).
class KeepGradientFormat : public torch::autograd::Function<KeepGradientFormat> {
 public:
  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& input) {
    ctx->saved_data["channels_last"] = format_of(input) == at::MemoryFormat::ChannelsLast3d;
    return input.view_as(input);
  }
  static variable_list backward(AutogradContext* ctx, variable_list grad_outputs) {
    const bool channels_last = ctx->saved_data["channels_last"].toBool();
    return {grad_outputs[0].contiguous(channels_last ? at::MemoryFormat::ChannelsLast3d
                                                     : at::MemoryFormat::Contiguous)};
  }
};

void check_splits(const torch::Tensor& input, const torch::Tensor& split_running_mean,
                  const torch::Tensor& split_running_var, int splits) {
  if (splits < 1 || input.size(0) % splits != 0) {
    throw std::invalid_argument("split_batch_norm: a batch of " + std::to_string(input.size(0)) +
                                " clips cannot be split into " + std::to_string(splits) +
                                " equal splits");
  }
  if (split_running_mean.numel() != splits * input.size(1) ||
      split_running_var.numel() != splits * input.size(1)) {
    throw std::invalid_argument("split_batch_norm: the running statistics must hold splits * C = " +
                                std::to_string(splits * input.size(1)) + " values");
  }
}

}  // namespace

torch::Tensor split_batch_norm(const torch::Tensor& input, const torch::Tensor& weight,
                               const torch::Tensor& bias, const torch::Tensor& split_running_mean,
                               const torch::Tensor& split_running_var, int splits, double momentum,
                               double epsilon) {
  if (input.is_cuda()) {
    return split_batch_norm_regrouped(input, weight, bias, split_running_mean, split_running_var,
                                      splits, momentum, epsilon);
  }
  check_splits(input, split_running_mean, split_running_var, splits);
  return SplitBatchNormFunction::apply(input, weight, bias, split_running_mean, split_running_var,
                                       static_cast<std::int64_t>(splits), momentum, epsilon);
}

torch::Tensor split_batch_norm_regrouped(const torch::Tensor& input, const torch::Tensor& weight,
                                         const torch::Tensor& bias,
                                         const torch::Tensor& split_running_mean,
                                         const torch::Tensor& split_running_var, int splits,
                                         double momentum, double epsilon) {
  check_splits(input, split_running_mean, split_running_var, splits);
  const std::int64_t k = splits;
  const auto n = input.size(0);
  const auto c = input.size(1);
  const auto t = input.size(2);
  const auto h = input.size(3);
  const auto w = input.size(4);
  // Block j's clip a is row j * (n / k) + a; regrouped it is clip a of a batch of n / k whose
  // channel j * C + c is split j's channel c, the split running statistics' layout. Each way is
  // views around one copy, made in the input's own memory order so that the output and, in
  // backward, the input's gradient keep its format.
  if (format_of(input) == at::MemoryFormat::ChannelsLast3d) {
    // In memory (N, T, H, W, C); regrouped (N / k, T, H, W, k * C).
    const auto grouped = KeepGradientFormat::apply(input)
                             .permute({0, 2, 3, 4, 1})
                             .view({k, n / k, t, h, w, c})
                             .permute({1, 2, 3, 4, 0, 5})
                             .contiguous()
                             .view({n / k, t, h, w, k * c})
                             .permute({0, 4, 1, 2, 3});
    return torch::batch_norm(grouped, weight.repeat({k}), bias.repeat({k}), split_running_mean,
                             split_running_var, /*training=*/true, momentum, epsilon,
                             at::globalContext().userEnabledCuDNN())
        .permute({0, 2, 3, 4, 1})
        .reshape({n / k, t, h, w, k, c})
        .permute({4, 0, 1, 2, 3, 5})
        .contiguous()
        .view({n, t, h, w, c})
        .permute({0, 4, 1, 2, 3});
  }
  // contiguous(): a no-op for the layers' own outputs, a copy for any other strides.
  const auto grouped = input.contiguous()
                           .view({k, n / k, c, t, h, w})
                           .transpose(0, 1)
                           .contiguous()
                           .view({n / k, k * c, t, h, w});
  return torch::batch_norm(grouped, weight.repeat({k}), bias.repeat({k}), split_running_mean,
                           split_running_var, /*training=*/true, momentum, epsilon,
                           at::globalContext().userEnabledCuDNN())
      .view({n / k, k, c, t, h, w})
      .transpose(0, 1)
      .contiguous()
      .view({n, c, t, h, w});
}

}  // namespace multigrid::reference
