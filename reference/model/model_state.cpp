#include "model/model_state.hpp"

#include <sstream>
#include <utility>
#include <vector>

namespace multigrid::reference {
namespace {

std::string shape_text(const torch::Tensor& tensor) {
  std::ostringstream text;
  text << tensor.sizes();
  return text.str();
}

}  // namespace

state_dict save_model_state(SlowFast& model) {
  model->pool_batch_norm_statistics();
  state_dict state;
  for (const auto& item : model->named_parameters()) state[item.key()] = item.value().detach();
  for (const auto& item : model->named_buffers()) state[item.key()] = item.value().detach();
  return state;
}

void load_model_state(SlowFast& model, const state_dict& state) {
  // Check everything before changing anything.
  std::vector<std::pair<torch::Tensor, torch::Tensor>> assignments;
  const auto read = [&](const std::string& key, const torch::Tensor& target) {
    const auto found = state.find(key);
    if (found == state.end()) {
      throw model_state_error("model state: the checkpoint has no tensor `" + key + "`");
    }
    const auto& value = found->second;
    if (!value.sizes().equals(target.sizes())) {
      throw model_state_error("model state: `" + key + "` has shape " + shape_text(value) +
                              " in the checkpoint, the model expects " + shape_text(target));
    }
    if (value.scalar_type() != target.scalar_type()) {
      throw model_state_error(
          "model state: `" + key + "` is " + c10::toString(value.scalar_type()) +
          " in the checkpoint, the model expects " + c10::toString(target.scalar_type()));
    }
    assignments.emplace_back(target, value);
  };
  for (const auto& item : model->named_parameters()) read(item.key(), item.value());
  for (const auto& item : model->named_buffers()) read(item.key(), item.value());

  torch::NoGradGuard no_grad;
  for (auto& [target, value] : assignments) target.copy_(value);
  for (auto& layer : model->batch_norm_layers()) layer->tile_statistics_into_splits();
}

}  // namespace multigrid::reference
