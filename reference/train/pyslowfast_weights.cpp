#include "train/pyslowfast_weights.hpp"

#include <torch/csrc/jit/serialization/pickle.h>

#include <cstdio>
#include <fstream>
#include <iterator>

#include "train/checkpoint_file.hpp"
#include "train/error_text.hpp"

namespace multigrid::reference {
namespace {

bool ends_with(const std::string& text, const std::string& suffix) {
  return text.size() >= suffix.size() &&
         text.compare(text.size() - suffix.size(), suffix.size(), suffix) == 0;
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

std::string read_bytes(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  if (!file) throw checkpoint_error(path + ": cannot open the weights file");
  return std::string(std::istreambuf_iterator<char>(file), {});
}

state_dict tensors_of(const std::string& path, const c10::IValue& value) {
  if (!value.isGenericDict()) {
    throw checkpoint_error(path + ": not PySlowFast weights: its model_state is not a dict");
  }
  state_dict state;
  for (const auto& item : value.toGenericDict()) {
    if (!item.key().isString()) {
      throw checkpoint_error(path + ": not PySlowFast weights: a model_state key is not a string");
    }
    const auto& name = item.key().toStringRef();
    if (!item.value().isTensor()) {
      throw checkpoint_error(path + ": not PySlowFast weights: model_state `" + name +
                             "` is not a tensor");
    }
    state[name] = item.value().toTensor();
  }
  return state;
}

}  // namespace

bool looks_like_torch_save(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  char magic[4] = {};
  file.read(magic, 4);
  return file.gcount() == 4 && magic[0] == 'P' && magic[1] == 'K' && magic[2] == 3 && magic[3] == 4;
}

state_dict read_pyslowfast_weights(const std::string& path) {
  const auto bytes = read_bytes(path);
  c10::IValue value;
  try {
    value = torch::pickle_load(std::vector<char>(bytes.begin(), bytes.end()));
  } catch (const std::exception& error) {
    const auto text = error_text(error);
    // LibTorch's unpickler reads collections.OrderedDict, which Python's state_dict() returns and
    // PySlowFast saves, as None (it expects one only in a tensor's unused backward hooks).
    if (text.find("Expected GenericDict but got None") != std::string::npos) {
      throw checkpoint_error(
          path +
          ": its state dict is a collections.OrderedDict, which LibTorch cannot read; save it as a "
          "plain dict first: python3 -c \"import torch, sys; c = torch.load(sys.argv[1], "
          "map_location='cpu'); c['model_state'] = dict(c['model_state']); torch.save(c, "
          "sys.argv[2])\" " +
          path + " PLAIN.pyth");
    }
    throw checkpoint_error(path + ": cannot read it as a torch.save file: " + text);
  }
  if (!value.isGenericDict()) {
    throw checkpoint_error(path + ": not PySlowFast weights: not a dict");
  }
  const auto dict = value.toGenericDict();
  for (const auto& item : dict) {
    if (item.key().isString() && item.key().toStringRef() == "model_state") {
      return from_pyslowfast_names(tensors_of(path, item.value()));
    }
  }
  return from_pyslowfast_names(tensors_of(path, value));  // a bare state dict
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
