#include "model/split_batch_norm.hpp"

#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "model/split_batch_norm_cuda.hpp"

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

// The statistics' type: float for every input type, as LibTorch's batch-norm kernels keep them.
at::ScalarType statistics_type(const torch::Tensor& input) {
  return input.scalar_type() == torch::kDouble ? torch::kDouble : torch::kFloat;
}

// What both autograd functions keep for their backward pass: the input in its memory format, the
// weight, and each split's mean and inverse standard deviation, (splits, C).
struct split_state {
  torch::Tensor x;
  torch::Tensor weight;
  torch::Tensor mean;
  torch::Tensor inverse_std;

  void save(AutogradContext* ctx) const { ctx->save_for_backward({x, weight, mean, inverse_std}); }
  static split_state saved(AutogradContext* ctx) {
    const auto tensors = ctx->get_saved_variables();
    return {tensors[0], tensors[1], tensors[2], tensors[3]};
  }
};

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
    const auto statistics_options = x.options().dtype(statistics_type(x));
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
    split_state{x, weight, mean, inverse_std}.save(ctx);
    ctx->saved_data["epsilon"] = epsilon;
    return output;
  }

  static variable_list backward(AutogradContext* ctx, variable_list grad_outputs) {
    const auto [x, weight, mean, inverse_std] = split_state::saved(ctx);
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

// Split j's clips are one block of memory in both layouts, so the activations seen as (k, a
// split's values, C) in channels-last-3d, or as (k, a split's clips, C, T * H * W) contiguous, are
// a view over which one reduction gives every split's statistics and one elementwise pass applies
// them.
struct split_view {
  torch::Tensor values;
  std::vector<std::int64_t> reduced;     ///< the dimensions a split's statistics reduce
  std::vector<std::int64_t> statistics;  ///< the shape in which (k, C) broadcasts over `values`
};

split_view split_values(const torch::Tensor& tensor, std::int64_t splits, at::MemoryFormat format) {
  const auto channels = tensor.size(1);
  if (format == at::MemoryFormat::ChannelsLast3d) {
    return {
        tensor.permute({0, 2, 3, 4, 1}).view({splits, -1, channels}), {1}, {splits, 1, channels}};
  }
  return {tensor.view({splits, tensor.size(0) / splits, channels, -1}),
          {1, 3},
          {splits, 1, channels, 1}};
}

class BatchedSplitBatchNormFunction
    : public torch::autograd::Function<BatchedSplitBatchNormFunction> {
 public:
  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& input,
                               const torch::Tensor& weight, const torch::Tensor& bias,
                               const torch::Tensor& running_mean, const torch::Tensor& running_var,
                               std::int64_t splits, double momentum, double epsilon) {
    const auto format = format_of(input);
    const auto x = input.contiguous(format);  // a no-op for the layers' own outputs
    // The project's kernels where they apply: one read of x for the statistics (LibTorch's
    // reduction may read bf16 through a float copy), one pass for the output, three kernels.
    const bool kernels = cuda_kernels_apply(x, format, weight, bias, running_mean, running_var);
    ctx->saved_data["kernels"] = kernels;
    if (kernels) {
      const auto result = cuda_batched_forward(x, weight, bias, running_mean, running_var, splits,
                                               momentum, epsilon);
      split_state{x, weight, result.mean, result.inverse_std}.save(ctx);
      return result.output;
    }
    const auto channels = x.size(1);
    const auto view = split_values(x, splits, format);
    const auto count = x.numel() / (splits * channels);
    const auto statistics = statistics_type(x);
    const auto options = x.options().dtype(statistics);
    auto variance = torch::empty({splits, channels}, options);
    auto mean = torch::empty({splits, channels}, options);
    at::var_mean_out(variance, mean, view.values, view.reduced, /*correction=*/0,
                     /*keepdim=*/false);
    const auto inverse_std = (variance + epsilon).rsqrt();
    const auto scale = inverse_std * weight.to(statistics);
    const auto shift = bias.to(statistics) - mean * scale;
    auto output = torch::empty_like(x, x.options(), format);
    // In the activations' type, computed in the statistics' type.
    auto output_values = split_values(output, splits, format).values;
    at::addcmul_out(output_values, shift.view(view.statistics), view.values,
                    scale.view(view.statistics));
    {
      torch::NoGradGuard no_grad;
      // The unbiased variance, as LibTorch's kernels keep it (not a number for one value per
      // split).
      const auto unbiased = variance * (static_cast<double>(count) / (count - 1));
      running_mean.view({splits, channels}).mul_(1 - momentum).add_(mean, momentum);
      running_var.view({splits, channels}).mul_(1 - momentum).add_(unbiased, momentum);
    }
    split_state{x, weight, mean, inverse_std}.save(ctx);
    return output;
  }

  static variable_list backward(AutogradContext* ctx, variable_list grad_outputs) {
    const auto [x, weight, mean, inverse_std] = split_state::saved(ctx);
    const auto splits = mean.size(0);
    const auto format = format_of(x);
    const auto grad_output = grad_outputs[0].contiguous(format);
    const auto unused = torch::Tensor();
    if (ctx->saved_data["kernels"].toBool()) {
      const auto result = cuda_batched_backward(x, grad_output, weight, mean, inverse_std);
      return {result.grad_input,
              result.grad_weight,
              result.grad_bias,
              unused,
              unused,
              unused,
              unused,
              unused};
    }
    const auto count = static_cast<double>(x.numel() / mean.numel());
    const auto statistics = mean.scalar_type();
    const auto x_view = split_values(x, splits, format);
    const auto dy = split_values(grad_output, splits, format).values;
    auto grad_input = torch::empty_like(x, x.options(), format);
    auto dx = split_values(grad_input, splits, format).values;
    const auto broadcast = [&](const torch::Tensor& t) { return t.view(x_view.statistics); };

    // sum(dy * (x - mean)) with the input's gradient as the scratch, no other activation-sized
    // tensor. In float, sum(dy * x) - mean * sum(dy) reads each tensor once and loses only
    // float's rounding times |mean| / spread; bf16 or half would round dy * x before the
    // subtraction, so x - mean comes first.
    const auto sum_dy = at::sum(dy, x_view.reduced, /*keepdim=*/false, statistics);
    torch::Tensor sum_dy_xmu;
    if (x.scalar_type() == torch::kFloat || x.scalar_type() == torch::kDouble) {
      at::mul_out(dx, dy, x_view.values);
      sum_dy_xmu = at::sum(dx, x_view.reduced, false, statistics) - mean * sum_dy;
    } else {
      at::sub_out(dx, x_view.values, broadcast(mean));
      dx.mul_(dy);
      sum_dy_xmu = at::sum(dx, x_view.reduced, false, statistics);
    }
    // dx = (dy - mean(dy) - (x - mean) * inverse_std^2 * mean(dy * (x - mean))) * inverse_std * w,
    // written as a * dy + b * x + c with per-split, per-channel a, b, c.
    const auto a = inverse_std * weight.to(statistics);
    const auto b = -a * inverse_std * inverse_std * sum_dy_xmu / count;
    const auto c = -a * sum_dy / count - b * mean;
    at::addcmul_out(dx, broadcast(c), x_view.values, broadcast(b));
    dx.addcmul_(dy, broadcast(a));
    // One gamma and beta for every split: their gradients add up.
    const auto grad_weight = (sum_dy_xmu * inverse_std).sum(0).to(weight.scalar_type());
    const auto grad_bias = sum_dy.sum(0).to(weight.scalar_type());
    return {grad_input, grad_weight, grad_bias, unused, unused, unused, unused, unused};
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

// Unset: each device's default. A run sets it from BN.SUB_BATCH_COMPUTATION; benchmarks set it to
// time the computations against each other.
std::optional<split_batch_norm_method> chosen_method;

}  // namespace

split_batch_norm_method split_batch_norm_method_for(const torch::Device& device) {
  if (chosen_method) return *chosen_method;
  return device.is_cuda() ? split_batch_norm_method::regrouped : split_batch_norm_method::in_place;
}

void choose_split_batch_norm_method(std::optional<split_batch_norm_method> method) {
  chosen_method = method;
}

scoped_split_batch_norm_method::scoped_split_batch_norm_method(
    std::optional<split_batch_norm_method> method)
    : earlier_(chosen_method) {
  chosen_method = method;
}

scoped_split_batch_norm_method::~scoped_split_batch_norm_method() {
  chosen_method = earlier_;
}

torch::Tensor split_batch_norm(const torch::Tensor& input, const torch::Tensor& weight,
                               const torch::Tensor& bias, const torch::Tensor& split_running_mean,
                               const torch::Tensor& split_running_var, int splits, double momentum,
                               double epsilon) {
  switch (split_batch_norm_method_for(input.device())) {
    case split_batch_norm_method::regrouped:
      return split_batch_norm_regrouped(input, weight, bias, split_running_mean, split_running_var,
                                        splits, momentum, epsilon);
    case split_batch_norm_method::batched:
      return split_batch_norm_batched(input, weight, bias, split_running_mean, split_running_var,
                                      splits, momentum, epsilon);
    case split_batch_norm_method::in_place:
      break;
  }
  check_splits(input, split_running_mean, split_running_var, splits);
  return SplitBatchNormFunction::apply(input, weight, bias, split_running_mean, split_running_var,
                                       static_cast<std::int64_t>(splits), momentum, epsilon);
}

torch::Tensor split_batch_norm_batched(const torch::Tensor& input, const torch::Tensor& weight,
                                       const torch::Tensor& bias,
                                       const torch::Tensor& split_running_mean,
                                       const torch::Tensor& split_running_var, int splits,
                                       double momentum, double epsilon) {
  check_splits(input, split_running_mean, split_running_var, splits);
  if (!input.is_cuda() && statistics_type(input) != input.scalar_type()) {
    // CUDA's kernels cast each operand as they read it: its reductions read bf16 or half
    // activations and accumulate in float, its elementwise passes apply float coefficients to
    // them. The CPU's would round statistics and coefficients to the activations' type, so the
    // CPU computes in float.
    return split_batch_norm_batched(input.to(statistics_type(input)), weight, bias,
                                    split_running_mean, split_running_var, splits, momentum,
                                    epsilon)
        .to(input.scalar_type());
  }
  return BatchedSplitBatchNormFunction::apply(input, weight, bias, split_running_mean,
                                              split_running_var, static_cast<std::int64_t>(splits),
                                              momentum, epsilon);
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
