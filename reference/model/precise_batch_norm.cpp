#include "model/precise_batch_norm.hpp"

#include <multigrid/batch_norm_statistics.hpp>
#include <stdexcept>
#include <vector>

namespace multigrid::reference {
namespace {

// Puts the layers' momentum and the model's mode back however the pass ends.
class restore_on_exit {
 public:
  explicit restore_on_exit(SlowFast& model) : model_(model), was_training_(model->is_training()) {
    for (const auto& layer : model_->batch_norm_layers()) momenta_.push_back(layer->momentum());
  }
  ~restore_on_exit() {
    auto layers = model_->batch_norm_layers();
    for (std::size_t i = 0; i < layers.size(); ++i) layers[i]->set_momentum(momenta_[i]);
    model_->train(was_training_);
  }
  restore_on_exit(const restore_on_exit&) = delete;
  restore_on_exit& operator=(const restore_on_exit&) = delete;

 private:
  SlowFast& model_;
  bool was_training_;
  std::vector<double> momenta_;
};

}  // namespace

int update_precise_batch_norm(SlowFast& model,
                              const std::function<std::optional<torch::Tensor>()>& next_clip_batch,
                              int num_batches) {
  if (num_batches < 1) {
    throw std::invalid_argument("precise BN needs at least one batch, not " +
                                std::to_string(num_batches));
  }
  int used = 0;
  {
    restore_on_exit restore(model);
    model->train(true);
    torch::NoGradGuard no_grad;
    for (; used < num_batches; ++used) {
      auto batch = next_clip_batch();
      if (!batch) break;
      // Batch n enters with weight 1 / (n + 1): after it the running statistics are the plain
      // average of the n + 1 batches' statistics.
      const double momentum = multigrid::equal_weight_momentum(static_cast<std::size_t>(used));
      for (auto& layer : model->batch_norm_layers()) layer->set_momentum(momentum);
      model->forward(*batch);
    }
  }
  if (used == 0) throw std::runtime_error("precise BN: the clip source gave no batch");
  model->pool_batch_norm_statistics();
  return used;
}

}  // namespace multigrid::reference
