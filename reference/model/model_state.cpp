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

void save_model_state(SlowFast& model, torch::serialize::OutputArchive& archive) {
  model->pool_batch_norm_statistics();
  for (const auto& item : model->named_parameters()) {
    archive.write(item.key(), item.value().detach());
  }
  for (const auto& item : model->named_buffers()) {
    archive.write(item.key(), item.value(), /*is_buffer=*/true);
  }
}

void load_model_state(SlowFast& model, torch::serialize::InputArchive& archive) {
  // Read and check everything before changing anything.
  std::vector<std::pair<torch::Tensor, torch::Tensor>> assignments;
  const auto read = [&](const std::string& key, const torch::Tensor& target, bool is_buffer) {
    torch::Tensor value;
    if (!archive.try_read(key, value, is_buffer)) {
      throw model_state_error("model state: the checkpoint has no tensor `" + key + "`");
    }
    if (!value.sizes().equals(target.sizes())) {
      throw model_state_error("model state: `" + key + "` has shape " + shape_text(value) +
                              " in the checkpoint, the model expects " + shape_text(target));
    }
    assignments.emplace_back(target, value);
  };
  for (const auto& item : model->named_parameters()) read(item.key(), item.value(), false);
  for (const auto& item : model->named_buffers()) read(item.key(), item.value(), true);

  torch::NoGradGuard no_grad;
  for (auto& [target, value] : assignments) target.copy_(value);
  for (auto& layer : model->batch_norm_layers()) layer->tile_statistics_into_splits();
}

}  // namespace multigrid::reference
