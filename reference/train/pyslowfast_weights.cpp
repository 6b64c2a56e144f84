#include "train/pyslowfast_weights.hpp"

#include <torch/csrc/jit/serialization/pickle.h>

#include <cstdio>
#include <fstream>
#include <utility>

#include "train/checkpoint_file.hpp"
#include "train/error_text.hpp"
#include "train/printable_text.hpp"
#include "train/torch_save_file.hpp"

namespace multigrid::reference {
namespace {

bool ends_with(const std::string& text, const std::string& suffix) {
  return text.size() >= suffix.size() &&
         text.compare(text.size() - suffix.size(), suffix.size(), suffix) == 0;
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// A dict of tensors under string names; `where` says which in messages.
state_dict tensors_of(torch_save_file& file, const pickle_object& dict, const std::string& where) {
  const auto& content = file.content();
  if (dict.kind != pickle_kind::dict) {
    throw checkpoint_error(file.path() + ": not PySlowFast weights: " + where + " is " +
                           pickle_kind_name(dict.kind) + ", not a dict");
  }
  state_dict state;
  for (std::size_t i = 0; i + 1 < dict.items.size(); i += 2) {
    const auto& key = content.at(dict.items[i]);
    const auto& value = content.at(dict.items[i + 1]);
    if (key.kind != pickle_kind::string) {
      throw checkpoint_error(file.path() + ": not PySlowFast weights: a key of " + where + " is " +
                             pickle_kind_name(key.kind) + ", not a string");
    }
    if (value.kind != pickle_kind::tensor) {
      throw checkpoint_error(file.path() + ": not PySlowFast weights: " + where + " `" +
                             printable_text(key.text) + "` is " + pickle_kind_name(value.kind) +
                             ", not a tensor");
    }
    state[key.text] = file.tensor(value);  // a key set twice: the later value, as in Python
  }
  return state;
}

state_dict model_state_of(torch_save_file& file) {
  const auto& root = file.content().root_object();
  if (root.kind != pickle_kind::dict) {
    throw checkpoint_error(file.path() + ": not PySlowFast weights: it holds " +
                           pickle_kind_name(root.kind) + ", not a dict");
  }
  // PySlowFast's checkpoints keep the model beside "epoch", "optimizer_state" and "cfg", which
  // the unpickler has checked but which are not needed here; a bare state dict is the model.
  if (const auto* model_state = file.content().find(root, "model_state")) {
    return from_pyslowfast_names(tensors_of(file, *model_state, "its model_state"));
  }
  return from_pyslowfast_names(tensors_of(file, root, "the state dict"));
}

}  // namespace

bool looks_like_torch_save(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  std::string start(legacy_torch_save_magic.size(), '\0');
  file.read(start.data(), static_cast<std::streamsize>(start.size()));
  start.resize(static_cast<std::size_t>(file.gcount()));
  return start.rfind(std::string("PK\3\4", 4), 0) == 0 || start == legacy_torch_save_magic;
}

state_dict read_pyslowfast_weights(const std::string& path) {
  torch_save_file file(path);
  return model_state_of(file);
}

state_dict read_pyslowfast_weights(const std::string& path, std::string bytes) {
  torch_save_file file(path, std::move(bytes));
  return model_state_of(file);
}

state_dict from_pyslowfast_names(const state_dict& state) {
  state_dict out;
  for (const auto& [original, tensor] : state) {
    auto name = original.rfind("module.", 0) == 0 ? original.substr(7) : original;
    if (ends_with(name, "num_batches_tracked")) continue;
    // Sub-BN keeps its running statistics twice, in `bn.bn` and `bn.split_bn`; `bn.bn` holds
    // the pooled ones.
    if (contains(name, ".split_bn.")) continue;
    const auto sub = name.find("bn.bn.");
    if (sub != std::string::npos) name.erase(sub, 3);
    auto value = tensor;
    if ((ends_with(name, "bn.weight") || ends_with(name, "bn.bias")) && value.dim() == 4 &&
        value.size(1) == 1 && value.size(2) == 1 && value.size(3) == 1) {
      value = value.flatten();
    }
    out[name] = value;
  }
  return out;
}

state_dict to_pyslowfast_names(const state_dict& state) {
  state_dict out = state;
  for (const auto& [name, tensor] : state) {
    if (!ends_with(name, "running_mean")) continue;
    const auto layer = name.substr(0, name.size() - std::string("running_mean").size());
    out[layer + "num_batches_tracked"] = torch::zeros({}, torch::kLong);
  }
  return out;
}

void write_pyslowfast_weights(const std::string& path, const state_dict& state, int epoch) {
  std::vector<char> bytes;
  try {
    c10::Dict<std::string, torch::Tensor> model_state;
    for (const auto& [name, tensor] : state) {
      model_state.insert(name, tensor.detach().to(torch::kCPU).contiguous());
    }
    c10::impl::GenericDict checkpoint(c10::StringType::get(), c10::AnyType::get());
    checkpoint.insert(c10::IValue(std::string("model_state")), c10::IValue(model_state));
    checkpoint.insert(c10::IValue(std::string("epoch")),
                      c10::IValue(static_cast<std::int64_t>(epoch)));
    bytes = torch::pickle_save(checkpoint);
  } catch (const std::exception& error) {
    throw checkpoint_error(path + ": cannot assemble the weights: " + error_text(error));
  }
  const auto temporary = temporary_checkpoint_path(path);
  {
    std::ofstream file(temporary, std::ios::binary | std::ios::trunc);
    file.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    file.flush();
    if (!file) {
      std::remove(temporary.c_str());
      throw checkpoint_error(path + ": cannot write the weights");
    }
  }
  if (std::rename(temporary.c_str(), path.c_str()) != 0) {
    std::remove(temporary.c_str());
    throw checkpoint_error(path + ": cannot move the weights into place");
  }
}

}  // namespace multigrid::reference
