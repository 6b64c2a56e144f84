#pragma once
// A small network for the LibTorch tests: linear layers, an optional BatchNorm, and a layer the
// forward pass never uses (it gets no gradient). Batches are drawn from a generator seeded by the
// step, so every process can make the same combined batch.

#include <torch/torch.h>

namespace multigrid::reference::testing {

struct toy_net_impl : torch::nn::Module {
  explicit toy_net_impl(bool with_batch_norm = true) : with_batch_norm(with_batch_norm) {
    // First, so that it lands in the last gradient bucket and does not hold the others back.
    unused = register_module("unused", torch::nn::Linear(3, 3));
    first = register_module("first", torch::nn::Linear(6, 32));
    if (with_batch_norm) norm = register_module("norm", torch::nn::BatchNorm1d(32));
    second = register_module("second", torch::nn::Linear(32, 16));
    dropout = register_module("dropout", torch::nn::Dropout(0.2));
    head = register_module("head", torch::nn::Linear(16, 4));
  }

  torch::Tensor forward(torch::Tensor x) {
    x = first(x);
    if (with_batch_norm) x = norm(x);
    x = dropout(torch::relu(second(torch::relu(x))));
    return head(x);
  }

  bool with_batch_norm;
  torch::nn::Linear first{nullptr}, second{nullptr}, head{nullptr}, unused{nullptr};
  torch::nn::BatchNorm1d norm{nullptr};
  torch::nn::Dropout dropout{nullptr};
};
TORCH_MODULE_IMPL(toy_net, toy_net_impl);

struct toy_batch {
  torch::Tensor inputs;  ///< clips x 6
  torch::Tensor labels;  ///< clips, 4 classes
};

/// The combined batch of `step`: the same in every process.
inline toy_batch toy_batch_at(int step, int clips = 8) {
  auto generator = at::detail::createCPUGenerator(static_cast<std::uint64_t>(1000 + step));
  toy_batch batch;
  batch.inputs = at::randn({clips, 6}, generator);
  batch.labels = at::randint(0, 4, {clips}, generator);
  return batch;
}

/// Every parameter and buffer, flattened in order: equal vectors mean equal models.
inline torch::Tensor flat_state(torch::nn::Module& module) {
  std::vector<torch::Tensor> pieces;
  for (const auto& parameter : module.parameters())
    pieces.push_back(parameter.detach().reshape(-1));
  for (const auto& buffer : module.buffers())
    pieces.push_back(buffer.detach().reshape(-1).to(torch::kFloat));
  return torch::cat(pieces);
}

}  // namespace multigrid::reference::testing
