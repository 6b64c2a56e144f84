#include "model/synchronized_batch_norm.hpp"

#include <stdexcept>

namespace multigrid::reference {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

// Autograd keeps non-tensor state in IValues; a capsule carries the synchronizer to backward.
struct synchronizer_capsule : torch::CustomClassHolder {
  explicit synchronizer_capsule(std::shared_ptr<batch_norm_synchronizer> s)
      : synchronizer(std::move(s)) {}
  std::shared_ptr<batch_norm_synchronizer> synchronizer;
};

constexpr std::int64_t channel_dim = 1;

std::vector<std::int64_t> reduced_dims(const torch::Tensor& input) {
  std::vector<std::int64_t> dims;
  for (std::int64_t d = 0; d < input.dim(); ++d) {
    if (d != channel_dim) dims.push_back(d);
  }
  return dims;
}

// Broadcasts a per-channel vector against (N, C, ...).
torch::Tensor per_channel(const torch::Tensor& values, std::int64_t dims) {
  std::vector<std::int64_t> shape(static_cast<std::size_t>(dims), 1);
  shape[channel_dim] = values.size(0);
  return values.view(shape);
}

class SynchronizedBatchNormFunction
    : public torch::autograd::Function<SynchronizedBatchNormFunction> {
 public:
  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& input,
                               const torch::Tensor& weight, const torch::Tensor& bias,
                               torch::Tensor running_mean, torch::Tensor running_var,
                               double momentum, double epsilon,
                               std::shared_ptr<batch_norm_synchronizer> synchronizer) {
    const auto x = input.to(torch::kFloat);
    const auto channels = x.size(channel_dim);
    const auto dims = reduced_dims(x);
    const double local_count = static_cast<double>(x.numel() / channels);

    // One all-reduce: [sum (C), sum of squares (C), count (1)].
    auto packed =
        torch::cat({x.sum(dims), x.square().sum(dims), torch::full({1}, local_count, x.options())});
    synchronizer->all_reduce_sum(packed);
    const auto count = packed.narrow(0, 2 * channels, 1);
    const auto mean = packed.narrow(0, 0, channels) / count;
    // E[x^2] - E[x]^2, as PySlowFast's NaiveSyncBatchNorm; clamped against rounding below zero.
    const auto variance =
        (packed.narrow(0, channels, channels) / count - mean.square()).clamp_min(0);
    const auto inverse_std = (variance + epsilon).rsqrt();

    {
      torch::NoGradGuard no_grad;
      running_mean.mul_(1 - momentum).add_(mean.to(running_mean.scalar_type()), momentum);
      const auto unbiased = variance * count / (count - 1);
      running_var.mul_(1 - momentum).add_(unbiased.to(running_var.scalar_type()), momentum);
    }

    const auto scale = weight.to(torch::kFloat) * inverse_std;
    const auto shift = bias.to(torch::kFloat) - mean * scale;
    const auto output = x * per_channel(scale, x.dim()) + per_channel(shift, x.dim());

    ctx->save_for_backward({input, weight, mean, inverse_std, count});
    ctx->saved_data["synchronizer"] =
        c10::IValue::make_capsule(c10::make_intrusive<synchronizer_capsule>(synchronizer));
    return output.to(input.scalar_type());
  }

  static variable_list backward(AutogradContext* ctx, variable_list grad_outputs) {
    const auto saved = ctx->get_saved_variables();
    const auto& input = saved[0];
    const auto& weight = saved[1];
    const auto& mean = saved[2];
    const auto& inverse_std = saved[3];
    const auto& count = saved[4];
    auto capsule = c10::static_intrusive_pointer_cast<synchronizer_capsule>(
        ctx->saved_data["synchronizer"].toCapsule());

    const auto x = input.to(torch::kFloat);
    const auto g = grad_outputs[0].to(torch::kFloat);
    const auto channels = x.size(channel_dim);
    const auto dims = reduced_dims(x);
    const auto normalized = (x - per_channel(mean, x.dim())) * per_channel(inverse_std, x.dim());

    const auto grad_bias = g.sum(dims);
    const auto grad_weight = (g * normalized).sum(dims);
    // The input gradient needs both sums over the whole group.
    auto packed = torch::cat({grad_bias, grad_weight});
    capsule->synchronizer->all_reduce_sum(packed);
    const auto mean_grad = packed.narrow(0, 0, channels) / count;
    const auto mean_grad_normalized = packed.narrow(0, channels, channels) / count;
    const auto scale = weight.to(torch::kFloat) * inverse_std;
    const auto grad_input =
        per_channel(scale, x.dim()) * (g - per_channel(mean_grad, x.dim()) -
                                       normalized * per_channel(mean_grad_normalized, x.dim()));

    return {grad_input.to(input.scalar_type()),
            grad_weight.to(weight.scalar_type()),
            grad_bias.to(weight.scalar_type()),
            torch::Tensor(),
            torch::Tensor(),
            torch::Tensor(),
            torch::Tensor(),
            torch::Tensor()};
  }
};

}  // namespace

torch::Tensor synchronized_batch_norm(const torch::Tensor& input, const torch::Tensor& weight,
                                      const torch::Tensor& bias, torch::Tensor& running_mean,
                                      torch::Tensor& running_var, double momentum, double epsilon,
                                      std::shared_ptr<batch_norm_synchronizer> synchronizer) {
  if (!synchronizer) throw std::invalid_argument("synchronized_batch_norm: no synchronizer");
  return SynchronizedBatchNormFunction::apply(input, weight, bias, running_mean, running_var,
                                              momentum, epsilon, std::move(synchronizer));
}

}  // namespace multigrid::reference
