#include "model/precise_batch_norm.hpp"

#include <multigrid/batch_norm_statistics.hpp>
#include <stdexcept>
#include <utility>
#include <vector>

namespace multigrid::reference {
namespace {

// Puts the layers' momentum and the module's mode back however the pass ends.
class restore_on_exit {
 public:
  restore_on_exit(torch::nn::Module& module, std::vector<SubBatchNorm3d> layers)
      : module_(module), layers_(std::move(layers)), was_training_(module.is_training()) {
    for (auto& layer : layers_) momenta_.push_back(layer->momentum());
  }
  ~restore_on_exit() {
    for (std::size_t i = 0; i < layers_.size(); ++i) layers_[i]->set_momentum(momenta_[i]);
    module_.train(was_training_);
  }
  restore_on_exit(const restore_on_exit&) = delete;
  restore_on_exit& operator=(const restore_on_exit&) = delete;

 private:
  torch::nn::Module& module_;
  std::vector<SubBatchNorm3d> layers_;
  bool was_training_;
  std::vector<double> momenta_;
};

torch::Tensor host_float(const torch::Tensor& tensor) {
  return tensor.detach().to(torch::kCPU, torch::kFloat).contiguous();
}

}  // namespace

int update_precise_batch_norm(torch::nn::Module& module, std::vector<SubBatchNorm3d> layers,
                              const std::function<bool()>& forward_next_batch, int num_batches) {
  if (num_batches < 1) {
    throw std::invalid_argument("precise BN needs at least one batch, not " +
                                std::to_string(num_batches));
  }
  // One estimator per layer, over the statistics the training forward updates (per split with
  // sub-batch BN): with momentum 1 a forward leaves exactly its batch's mean and unbiased variance
  // there, as fvcore's pass does.
  std::vector<multigrid::population_statistics> estimates;
  for (const auto& layer : layers) {
    estimates.emplace_back(static_cast<std::size_t>(layer->training_running_mean().numel()));
  }
  int used = 0;
  {
    restore_on_exit restore(module, layers);
    module.train(true);
    torch::NoGradGuard no_grad;
    for (auto& layer : layers) layer->set_momentum(1.0);
    for (; used < num_batches; ++used) {
      for (auto& layer : layers) layer->forget_last_batch();
      if (!forward_next_batch()) break;
      for (std::size_t i = 0; i < layers.size(); ++i) {
        const auto count = layers[i]->last_values_per_channel();
        if (count == 0) continue;  // the layer was not used by this forward
        const auto mean = host_float(layers[i]->training_running_mean());
        const auto variance = host_float(layers[i]->training_running_var());
        estimates[i].add(mean.data_ptr<float>(), variance.data_ptr<float>(),
                         static_cast<double>(count));
      }
    }
    for (std::size_t i = 0; i < layers.size(); ++i) {
      if (estimates[i].batches() == 0) continue;
      auto mean = torch::empty({static_cast<std::int64_t>(estimates[i].channels())});
      auto variance = torch::empty_like(mean);
      estimates[i].result(mean.data_ptr<float>(), variance.data_ptr<float>());
      layers[i]->set_training_statistics(mean, variance);
    }
  }
  if (used == 0) throw std::runtime_error("precise BN: the clip source gave no batch");
  for (auto& layer : layers) layer->pool_statistics();
  return used;
}

int update_precise_batch_norm(SlowFast& model,
                              const std::function<std::optional<torch::Tensor>()>& next_clip_batch,
                              int num_batches) {
  const auto layers = model->batch_norm_layers();
  return update_precise_batch_norm(
      *model, layers,
      [&] {
        auto batch = next_clip_batch();
        if (!batch) return false;
        model->forward(*batch);
        return true;
      },
      num_batches);
}

}  // namespace multigrid::reference
