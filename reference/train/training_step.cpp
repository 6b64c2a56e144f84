#include "train/training_step.hpp"

#include "compat/torch_compat.hpp"

namespace multigrid::reference {

torch::Tensor model_input(const torch::Tensor& clips, const clip_normalization& normalization) {
  const auto device = normalization.scale.device();
  torch::Tensor input = clips.to(device, /*non_blocking=*/true);
  if (input.scalar_type() == torch::kUInt8) input = normalization(input);
  if (device.is_cuda()) input = input.contiguous(at::MemoryFormat::ChannelsLast3d);
  return input;
}

training_step::training_step(SlowFast model, training_optimizer& optimizer,
                             gradient_all_reducer* reducer, torch::Device device)
    : model_(std::move(model)),
      optimizer_(optimizer),
      reducer_(reducer),
      device_(device),
      mixed_precision_(device.is_cuda()) {}

torch::Tensor training_step::run(const torch::Tensor& input, const torch::Tensor& labels,
                                 double lr) {
  model_->train();
  optimizer_.zero_grad();
  torch::Tensor loss;
  {
    // Autocast covers the forward pass and the loss; backward runs in the dtypes forward chose.
    compat::autocast_scope autocast(device_.type(), at::kBFloat16, mixed_precision_);
    const auto logits = model_->forward(input);
    loss = torch::nn::functional::cross_entropy(logits.to(torch::kFloat), labels);
  }
  loss.backward();
  if (reducer_ != nullptr) reducer_->finish();
  optimizer_.set_learning_rate(lr);
  optimizer_.step();
  return loss.detach();
}

torch::Tensor training_step::logits(const torch::Tensor& input) {
  model_->eval();
  torch::NoGradGuard no_grad;
  compat::autocast_scope autocast(device_.type(), at::kBFloat16, mixed_precision_);
  return model_->forward(input).to(torch::kFloat);
}

}  // namespace multigrid::reference
