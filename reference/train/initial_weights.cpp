#include "train/initial_weights.hpp"

#include <sstream>

#include "model/model_state.hpp"
#include "train/checkpoint.hpp"
#include "train/error_text.hpp"
#include "train/pyslowfast_weights.hpp"

namespace multigrid::reference {
namespace {

std::string shape_text(const torch::Tensor& tensor) {
  std::ostringstream text;
  text << c10::toString(tensor.scalar_type()) << ' ' << tensor.sizes();
  return text.str();
}

bool is_classifier(const std::string& name) {
  return name.rfind("head.projection.", 0) == 0;
}

}  // namespace

state_dict read_weights_file(const std::string& path) {
  if (looks_like_torch_save(path)) return read_pyslowfast_weights(path);
  checkpoint_file file(path);
  const auto format = file.metadata().find("format");
  if (format != file.metadata().end() && format->second == "multigrid-checkpoint") {
    return opened_checkpoint(path).model_state();
  }
  // Anything else that parses (our export, or a safetensors file whose metadata begins with our
  // checksum) holds tensors under PySlowFast's names.
  return from_pyslowfast_names(file.tensors(""));
}

std::vector<std::string> load_weights(SlowFast& model, const state_dict& state,
                                      const std::string& path) {
  state_dict accepted;
  std::vector<std::string> skipped;
  std::map<std::string, torch::Tensor> expected;
  for (const auto& item : model->named_parameters()) expected[item.key()] = item.value();
  for (const auto& item : model->named_buffers()) expected[item.key()] = item.value();
  for (const auto& [name, tensor] : state) {
    const auto target = expected.find(name);
    if (target == expected.end()) {
      throw checkpoint_error(path + ": `" + name + "` is not a tensor of this model (" +
                             std::to_string(state.size()) + " tensors in the file, " +
                             std::to_string(expected.size()) + " in the model)");
    }
    const bool fits = tensor.sizes().equals(target->second.sizes()) &&
                      tensor.scalar_type() == target->second.scalar_type();
    if (!fits && is_classifier(name) && tensor.sizes().size() == target->second.sizes().size()) {
      skipped.push_back(name + " (" + shape_text(tensor) + " in the file, " +
                        shape_text(target->second) + " in the model)");
      accepted[name] = target->second.detach().clone();
      continue;
    }
    if (!fits) {
      throw checkpoint_error(path + ": `" + name + "` is " + shape_text(tensor) +
                             " in the file, the model's is " + shape_text(target->second));
    }
    accepted[name] = tensor;
  }
  try {
    load_model_state(model, accepted);
  } catch (const std::exception& error) {
    throw checkpoint_error(path + ": " + error_text(error));
  }
  return skipped;
}

}  // namespace multigrid::reference
