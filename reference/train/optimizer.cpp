#include "train/optimizer.hpp"

#include <algorithm>
#include <cctype>
#include <map>
#include <set>
#include <stdexcept>
#include <unordered_set>

#include "compat/torch_compat.hpp"

namespace multigrid::reference {
namespace {

std::string lower(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return text;
}

std::vector<torch::Tensor> tensors_of(const std::vector<named_parameter>& parameters) {
  std::vector<torch::Tensor> tensors;
  for (const auto& parameter : parameters) tensors.push_back(parameter.tensor);
  return tensors;
}

torch::optim::SGDOptions group_options(const sgd_settings& settings, double weight_decay) {
  return torch::optim::SGDOptions(0.0)
      .momentum(settings.momentum)
      .dampening(settings.dampening)
      .nesterov(settings.nesterov)
      .weight_decay(weight_decay);
}

std::string shape_text(const torch::Tensor& tensor) {
  std::string text = "[";
  for (std::int64_t d = 0; d < tensor.dim(); ++d) {
    text += (d ? ", " : "") + std::to_string(tensor.size(d));
  }
  return text + "]";
}

}  // namespace

bool is_batch_norm_module(const std::string&, const torch::nn::Module& module) {
  const auto name = lower(module.name());
  return name.find("batchnorm") != std::string::npos ||
         name.find("batch_norm") != std::string::npos;
}

parameter_groups split_batch_norm_parameters(const torch::nn::Module& model,
                                             const batch_norm_predicate& is_batch_norm) {
  std::unordered_set<const void*> batch_norm_tensors;
  for (const auto& item : model.named_modules()) {
    if (!is_batch_norm(item.key(), *item.value())) continue;
    for (const auto& parameter : item.value()->parameters(/*recurse=*/false)) {
      batch_norm_tensors.insert(parameter.unsafeGetTensorImpl());
    }
  }
  parameter_groups groups;
  for (const auto& item : model.named_parameters(/*recurse=*/true)) {
    if (!item.value().requires_grad()) continue;
    auto& group = batch_norm_tensors.count(item.value().unsafeGetTensorImpl()) != 0
                      ? groups.batch_norm
                      : groups.regular;
    group.push_back({item.key(), item.value()});
  }
  return groups;
}

sgd_settings sgd_settings_from(const optimizer_section& section) {
  sgd_settings settings;
  settings.momentum = section.momentum;
  settings.dampening = section.dampening;
  settings.nesterov = section.nesterov;
  settings.weight_decay = section.weight_decay;
  settings.batch_norm_weight_decay = section.batch_norm_weight_decay;
  return settings;
}

training_optimizer::training_optimizer(parameter_groups groups, const sgd_settings& settings)
    : groups_(std::move(groups)), settings_(settings) {
  std::set<std::string> names;
  for (const auto* list : {&groups_.regular, &groups_.batch_norm}) {
    for (const auto& parameter : *list) {
      if (!names.insert(parameter.name).second) {
        throw std::invalid_argument("training_optimizer: parameter " + parameter.name +
                                    " is listed twice");
      }
    }
  }
  std::vector<torch::optim::OptimizerParamGroup> param_groups;
  param_groups.emplace_back(
      tensors_of(groups_.regular),
      std::make_unique<torch::optim::SGDOptions>(group_options(settings, settings.weight_decay)));
  param_groups.emplace_back(tensors_of(groups_.batch_norm),
                            std::make_unique<torch::optim::SGDOptions>(
                                group_options(settings, settings.batch_norm_weight_decay)));
  sgd_ = std::make_unique<torch::optim::SGD>(std::move(param_groups),
                                             group_options(settings, settings.weight_decay));
}

void training_optimizer::set_learning_rate(double lr) {
  for (auto& group : sgd_->param_groups()) {
    static_cast<torch::optim::SGDOptions&>(group.options()).lr(lr);
  }
}

double training_optimizer::learning_rate() const {
  return static_cast<const torch::optim::SGDOptions&>(sgd_->param_groups().front().options()).lr();
}

void training_optimizer::zero_grad() {
  for (auto& group : sgd_->param_groups()) {
    for (auto& parameter : group.params()) parameter.mutable_grad() = torch::Tensor();
  }
}

void training_optimizer::step() {
  sgd_->step();
}

torch::Tensor training_optimizer::momentum_buffer(const torch::Tensor& parameter) const {
  const auto& state = sgd_->state();
  const auto it = state.find(compat::optimizer_state_key(parameter));
  if (it == state.end()) return {};
  return static_cast<const torch::optim::SGDParamState&>(*it->second).momentum_buffer();
}

state_dict training_optimizer::save() const {
  state_dict buffers;
  for (const auto* list : {&groups_.regular, &groups_.batch_norm}) {
    for (const auto& parameter : *list) {
      const auto buffer = momentum_buffer(parameter.tensor);
      if (buffer.defined()) buffers[parameter.name] = buffer;
    }
  }
  return buffers;
}

void training_optimizer::load(const state_dict& buffers) {
  std::map<std::string, torch::Tensor> by_name;
  for (const auto* list : {&groups_.regular, &groups_.batch_norm}) {
    for (const auto& parameter : *list) by_name[parameter.name] = parameter.tensor;
  }
  // Check every buffer before the state changes.
  for (const auto& [name, buffer] : buffers) {
    const auto found = by_name.find(name);
    if (found == by_name.end()) {
      throw std::runtime_error("optimizer state: parameter " + name +
                               " has a momentum buffer but the model has no such parameter");
    }
    if (!buffer.sizes().equals(found->second.sizes())) {
      throw std::runtime_error("optimizer state: the momentum buffer of " + name + " has shape " +
                               shape_text(buffer) + ", the parameter " + shape_text(found->second));
    }
    if (!buffer.is_floating_point()) {
      throw std::runtime_error("optimizer state: the momentum buffer of " + name + " is " +
                               c10::toString(buffer.scalar_type()) + ", not floating point");
    }
  }
  auto& state = sgd_->state();
  state.clear();
  for (const auto& [name, buffer] : buffers) {
    const auto& parameter = by_name.at(name);
    auto parameter_state = std::make_unique<torch::optim::SGDParamState>();
    parameter_state->momentum_buffer(
        buffer.to(parameter.options(), /*non_blocking=*/false, /*copy=*/true).contiguous());
    state[compat::optimizer_state_key(parameter)] = std::move(parameter_state);
  }
}

}  // namespace multigrid::reference
