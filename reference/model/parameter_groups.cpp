#include "model/parameter_groups.hpp"

#include <unordered_set>

namespace multigrid::reference {

slowfast_parameter_groups split_parameter_groups(SlowFast& model) {
  slowfast_parameter_groups groups;
  std::unordered_set<const void*> norm_parameters;
  for (const auto& layer : model->batch_norm_layers()) {
    for (const auto& parameter : {layer->weight, layer->bias}) {
      groups.batch_norm.push_back(parameter);
      norm_parameters.insert(parameter.unsafeGetTensorImpl());
    }
  }
  for (const auto& parameter : model->parameters()) {
    if (norm_parameters.count(parameter.unsafeGetTensorImpl()) == 0) {
      groups.other.push_back(parameter);
    }
  }
  return groups;
}

}  // namespace multigrid::reference
