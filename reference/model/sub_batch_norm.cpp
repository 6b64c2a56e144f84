#include "model/sub_batch_norm.hpp"

#include <multigrid/batch_norm_statistics.hpp>
#include <sstream>
#include <stdexcept>

#include "model/split_batch_norm.hpp"
#include "model/synchronized_batch_norm.hpp"

namespace multigrid::reference {
namespace {

// The library's statistics functions work on host arrays of one type.
torch::Tensor host_float(const torch::Tensor& tensor) {
  return tensor.detach().to(torch::kCPU, torch::kFloat).contiguous();
}

// Split-major tiling of a per-channel statistic (C) into `splits` copies (splits * C).
torch::Tensor tiled(const torch::Tensor& statistic, int splits) {
  const auto source = host_float(statistic);
  auto target = torch::empty({source.numel() * splits}, source.options());
  multigrid::tile_statistics(source.data_ptr<float>(), static_cast<std::size_t>(source.numel()),
                             static_cast<std::size_t>(splits), target.data_ptr<float>());
  return target.to(statistic.device(), statistic.scalar_type());
}

// The pooled (mean, variance) of split statistics, on the host.
std::pair<torch::Tensor, torch::Tensor> pooled(const torch::Tensor& split_mean,
                                               const torch::Tensor& split_var, int splits) {
  const auto means = host_float(split_mean);
  const auto variances = host_float(split_var);
  const auto channels = means.numel() / splits;
  auto mean = torch::empty({channels}, means.options());
  auto variance = torch::empty({channels}, means.options());
  multigrid::pool_split_statistics(
      means.data_ptr<float>(), variances.data_ptr<float>(), static_cast<std::size_t>(splits),
      static_cast<std::size_t>(channels), mean.data_ptr<float>(), variance.data_ptr<float>());
  return {mean, variance};
}

}  // namespace

SubBatchNorm3dImpl::SubBatchNorm3dImpl(std::int64_t num_features, batch_norm_settings settings)
    : num_features_(num_features), epsilon_(settings.epsilon), momentum_(settings.momentum) {
  if (num_features < 1) throw std::invalid_argument("SubBatchNorm3d: num_features must be >= 1");
  weight = register_parameter("weight", torch::ones({num_features}));
  bias = register_parameter("bias", torch::zeros({num_features}));
  running_mean = register_buffer("running_mean", torch::zeros({num_features}));
  running_var = register_buffer("running_var", torch::ones({num_features}));
}

void SubBatchNorm3dImpl::check_input(const torch::Tensor& input) const {
  if (input.dim() != 5 || input.size(1) != num_features_) {
    std::ostringstream message;
    message << name_ << ": expected a (N, " << num_features_ << ", T, H, W) input, got "
            << input.sizes();
    throw std::invalid_argument(message.str());
  }
}

torch::Tensor SubBatchNorm3dImpl::forward(const torch::Tensor& input) {
  check_input(input);
  if (!is_training()) {
    if (pooling_pending_) pool_statistics();
    return torch::batch_norm(input, weight, bias, running_mean, running_var, false, momentum_,
                             epsilon_, at::globalContext().userEnabledCuDNN());
  }
  last_values_per_channel_ = input.numel() / (num_features_ * splits_);
  if (synchronizer_) {
    return synchronized_batch_norm(input, weight, bias, running_mean, running_var, momentum_,
                                   epsilon_, synchronizer_);
  }
  if (splits_ > 1) return forward_sub_batch(input);
  return torch::batch_norm(input, weight, bias, running_mean, running_var, true, momentum_,
                           epsilon_, at::globalContext().userEnabledCuDNN());
}

torch::Tensor SubBatchNorm3dImpl::forward_sub_batch(const torch::Tensor& input) {
  const auto batch = input.size(0);
  if (batch % splits_ != 0) {
    std::ostringstream message;
    message << name_ << ": a batch of " << batch << " clips cannot be split into " << splits_
            << " sub-batch BN splits (the batch must be a multiple of the split count)";
    throw std::invalid_argument(message.str());
  }
  pooling_pending_ = true;
  return split_batch_norm(input, weight, bias, split_running_mean_, split_running_var_, splits_,
                          momentum_, epsilon_);
}

void SubBatchNorm3dImpl::set_plain() {
  synchronizer_.reset();
  set_splits(1);
}

void SubBatchNorm3dImpl::set_splits(int splits) {
  if (splits < 1) {
    throw std::invalid_argument(name_ + ": the split count must be at least 1, not " +
                                std::to_string(splits));
  }
  if (splits == splits_) return;
  if (pooling_pending_) pool_statistics();
  splits_ = splits;
  if (splits_ > 1) {
    synchronizer_.reset();
    tile_statistics_into_splits();
  } else {
    split_running_mean_ = torch::Tensor();
    split_running_var_ = torch::Tensor();
  }
}

void SubBatchNorm3dImpl::set_synchronizer(std::shared_ptr<batch_norm_synchronizer> synchronizer) {
  set_splits(1);
  synchronizer_ = std::move(synchronizer);
}

void SubBatchNorm3dImpl::tile_statistics_into_splits() {
  pooling_pending_ = false;
  if (splits_ == 1) return;
  split_running_mean_ = tiled(running_mean, splits_);
  split_running_var_ = tiled(running_var, splits_);
}

void SubBatchNorm3dImpl::pool_statistics() {
  pooling_pending_ = false;
  if (splits_ == 1) return;
  auto [mean, variance] = pooled(split_running_mean_, split_running_var_, splits_);
  torch::NoGradGuard no_grad;
  running_mean.copy_(mean);
  running_var.copy_(variance);
}

void SubBatchNorm3dImpl::set_training_statistics(const torch::Tensor& mean,
                                                 const torch::Tensor& variance) {
  auto target_mean = training_running_mean();
  auto target_variance = training_running_var();
  if (mean.numel() != target_mean.numel() || variance.numel() != target_variance.numel()) {
    throw std::invalid_argument(name_ + ": expected " + std::to_string(target_mean.numel()) +
                                " statistics per kind, got " + std::to_string(mean.numel()) +
                                " and " + std::to_string(variance.numel()));
  }
  torch::NoGradGuard no_grad;
  target_mean.copy_(mean.reshape_as(target_mean));
  target_variance.copy_(variance.reshape_as(target_variance));
  if (splits_ > 1) pooling_pending_ = true;
}

torch::Tensor SubBatchNorm3dImpl::training_running_mean() const {
  return splits_ > 1 ? split_running_mean_ : running_mean;
}

torch::Tensor SubBatchNorm3dImpl::training_running_var() const {
  return splits_ > 1 ? split_running_var_ : running_var;
}

void SubBatchNorm3dImpl::to(torch::Device device, torch::Dtype dtype, bool non_blocking) {
  torch::nn::Module::to(device, dtype, non_blocking);
  if (split_running_mean_.defined()) {
    split_running_mean_ = split_running_mean_.to(device, dtype, non_blocking);
    split_running_var_ = split_running_var_.to(device, dtype, non_blocking);
  }
}

void SubBatchNorm3dImpl::to(torch::Dtype dtype, bool non_blocking) {
  torch::nn::Module::to(dtype, non_blocking);
  if (split_running_mean_.defined()) {
    split_running_mean_ = split_running_mean_.to(dtype, non_blocking);
    split_running_var_ = split_running_var_.to(dtype, non_blocking);
  }
}

void SubBatchNorm3dImpl::to(torch::Device device, bool non_blocking) {
  torch::nn::Module::to(device, non_blocking);
  if (split_running_mean_.defined()) {
    split_running_mean_ = split_running_mean_.to(device, non_blocking);
    split_running_var_ = split_running_var_.to(device, non_blocking);
  }
}

void SubBatchNorm3dImpl::save(torch::serialize::OutputArchive& archive) const {
  archive.write("weight", weight);
  archive.write("bias", bias);
  if (pooling_pending_) {
    auto [mean, variance] = pooled(split_running_mean_, split_running_var_, splits_);
    archive.write("running_mean", mean.to(running_mean.scalar_type()), /*is_buffer=*/true);
    archive.write("running_var", variance.to(running_var.scalar_type()), /*is_buffer=*/true);
  } else {
    archive.write("running_mean", running_mean, /*is_buffer=*/true);
    archive.write("running_var", running_var, /*is_buffer=*/true);
  }
}

void SubBatchNorm3dImpl::load(torch::serialize::InputArchive& archive) {
  torch::nn::Module::load(archive);
  tile_statistics_into_splits();
}

void SubBatchNorm3dImpl::pretty_print(std::ostream& stream) const {
  stream << "SubBatchNorm3d(" << num_features_ << ", eps=" << epsilon_
         << ", momentum=" << momentum_;
  if (synchronizer_) {
    stream << ", synchronized over " << synchronizer_->group_size();
  } else if (splits_ > 1) {
    stream << ", splits=" << splits_;
  }
  stream << ")";
}

}  // namespace multigrid::reference
