#include "train/optimizer.hpp"

#include <doctest/doctest.h>

#include "toy_model.hpp"

using namespace multigrid::reference;
using namespace multigrid::reference::testing;

namespace {

// The same parameters as toy_net's BatchNorm, but as a sub-batch BN module holds them: one gamma
// and beta whatever its split count, no torch::nn::BatchNorm inside.
struct split_norm_impl : torch::nn::Module {
  explicit split_norm_impl(int splits) : torch::nn::Module("SubBatchNorm1d"), splits(splits) {
    weight = register_parameter("weight", torch::ones({32}));
    bias = register_parameter("bias", torch::zeros({32}));
  }
  torch::Tensor forward(torch::Tensor x) {
    const auto grouped = x.reshape({-1, splits * 32});
    const auto normalized = (grouped - grouped.mean(0)) / (grouped.var(0, false) + 1e-5).sqrt();
    return normalized.reshape({-1, 32}) * weight + bias;
  }
  int splits;
  torch::Tensor weight, bias;
};
TORCH_MODULE_IMPL(split_norm, split_norm_impl);

struct split_net_impl : torch::nn::Module {
  explicit split_net_impl(int splits) {
    first = register_module("first", torch::nn::Linear(6, 32));
    norm = register_module("norm", split_norm(splits));
    second = register_module("second", torch::nn::Linear(32, 16));
    head = register_module("head", torch::nn::Linear(16, 4));
    unused = register_module("unused", torch::nn::Linear(3, 3));
  }
  torch::Tensor forward(torch::Tensor x) {
    return head(torch::relu(second(torch::relu(norm(first(x))))));
  }
  torch::nn::Linear first{nullptr}, second{nullptr}, head{nullptr}, unused{nullptr};
  split_norm norm{nullptr};
};
TORCH_MODULE_IMPL(split_net, split_net_impl);

std::vector<std::string> names_of(const std::vector<named_parameter>& parameters) {
  std::vector<std::string> names;
  for (const auto& parameter : parameters) names.push_back(parameter.name);
  return names;
}

void train_step(torch::nn::Module& model,
                const std::function<torch::Tensor(torch::Tensor)>& forward,
                training_optimizer& optimizer, int step) {
  const auto batch = toy_batch_at(step);
  optimizer.zero_grad();
  torch::nn::functional::cross_entropy(forward(batch.inputs), batch.labels).backward();
  optimizer.step();
  (void)model;
}

}  // namespace

TEST_CASE("BatchNorm's gamma and beta form their own group, in named_parameters order") {
  toy_net model;
  const auto groups = split_batch_norm_parameters(*model);
  CHECK(names_of(groups.batch_norm) == std::vector<std::string>{"norm.weight", "norm.bias"});
  CHECK(names_of(groups.regular) ==
        std::vector<std::string>{"unused.weight", "unused.bias", "first.weight", "first.bias",
                                 "second.weight", "second.bias", "head.weight", "head.bias"});
  // A sub-batch BN module is recognised by its name, and its parameters are the same two.
  split_net split(4);
  CHECK(names_of(split_batch_norm_parameters(*split).batch_norm) ==
        std::vector<std::string>{"norm.weight", "norm.bias"});
  // Frozen parameters are left out; a custom predicate decides what BN is.
  model->head->weight.set_requires_grad(false);
  const auto custom = split_batch_norm_parameters(
      *model, [](const std::string& name, const torch::nn::Module&) { return name == "second"; });
  CHECK(names_of(custom.batch_norm) == std::vector<std::string>{"second.weight", "second.bias"});
  CHECK(custom.regular.size() == 7);  // head.weight is frozen
}

TEST_CASE("weight decay applies to every parameter but BN's, and the LR to every group") {
  torch::manual_seed(3);
  toy_net model;
  model->eval();  // no dropout: the step is a formula of the gradient
  sgd_settings settings;
  settings.momentum = 0.9;
  settings.nesterov = false;
  settings.weight_decay = 0.5;  // large, so that its effect is unmistakable
  settings.batch_norm_weight_decay = 0.0;
  training_optimizer optimizer(split_batch_norm_parameters(*model), settings);
  optimizer.set_learning_rate(0.25);
  CHECK(optimizer.learning_rate() == 0.25);
  for (const auto& group : optimizer.sgd().param_groups()) {
    CHECK(static_cast<const torch::optim::SGDOptions&>(group.options()).lr() == 0.25);
  }
  const auto weight_before = model->first->weight.detach().clone();
  const auto gamma_before = model->norm->weight.detach().clone();
  const auto batch = toy_batch_at(0);
  optimizer.zero_grad();
  torch::nn::functional::cross_entropy(model->forward(batch.inputs), batch.labels).backward();
  const auto weight_gradient = model->first->weight.grad().clone();
  const auto gamma_gradient = model->norm->weight.grad().clone();
  optimizer.step();
  CHECK(torch::allclose(model->first->weight,
                        weight_before - 0.25 * (weight_gradient + 0.5 * weight_before)));
  CHECK(torch::allclose(model->norm->weight, gamma_before - 0.25 * gamma_gradient));
  // The unused layer got no gradient, so no step and no momentum buffer.
  CHECK_FALSE(optimizer.momentum_buffer(model->unused->weight).defined());
  CHECK(optimizer.momentum_buffer(model->first->weight).defined());
  // zero_grad drops gradients rather than zeroing them.
  optimizer.zero_grad();
  CHECK_FALSE(model->first->weight.grad().defined());
}

TEST_CASE("momentum buffers reload by name into a model with another BN split count") {
  torch::manual_seed(5);
  split_net two_splits(2);
  training_optimizer first(split_batch_norm_parameters(*two_splits), sgd_settings{});
  first.set_learning_rate(0.1);
  for (int step = 0; step < 2; ++step) {
    train_step(
        *two_splits, [&](torch::Tensor x) { return two_splits->forward(x); }, first, step);
  }
  state_dict saved;  // a copy, as a checkpoint holds it
  for (const auto& [name, buffer] : first.save()) saved[name] = buffer.clone();

  // The four-split model holds the same parameters (copied), as the model's set_splits keeps them.
  split_net four_splits(4);
  {
    torch::NoGradGuard no_grad;
    for (const auto& item : two_splits->named_parameters()) {
      four_splits->named_parameters()[item.key()].copy_(item.value());
    }
  }
  training_optimizer second(split_batch_norm_parameters(*four_splits), sgd_settings{});
  second.load(saved);
  for (const auto& item : two_splits->named_parameters()) {
    CAPTURE(item.key());
    const auto before = first.momentum_buffer(item.value());
    const auto after = second.momentum_buffer(four_splits->named_parameters()[item.key()]);
    REQUIRE(before.defined() == after.defined());
    if (before.defined()) CHECK(torch::equal(before, after));
  }
  // Both continue identically from here with the same splits' arithmetic (two splits each).
  split_net continued(2);
  {
    torch::NoGradGuard no_grad;
    for (const auto& item : four_splits->named_parameters()) {
      continued->named_parameters()[item.key()].copy_(item.value());
    }
  }
  training_optimizer third(split_batch_norm_parameters(*continued), sgd_settings{});
  third.load(saved);
  third.set_learning_rate(0.1);
  train_step(
      *two_splits, [&](torch::Tensor x) { return two_splits->forward(x); }, first, 2);
  train_step(
      *continued, [&](torch::Tensor x) { return continued->forward(x); }, third, 2);
  for (const auto& item : two_splits->named_parameters()) {
    CHECK(torch::equal(item.value(), continued->named_parameters()[item.key()]));
  }
}

TEST_CASE("optimizer state of another model is refused with the parameter's name") {
  torch::manual_seed(6);
  toy_net model;
  training_optimizer optimizer(split_batch_norm_parameters(*model), sgd_settings{});
  optimizer.set_learning_rate(0.1);
  train_step(
      *model, [&](torch::Tensor x) { return model->forward(x); }, optimizer, 0);
  const auto saved = optimizer.save();

  // A model without the BN layer: norm.weight has nowhere to go.
  toy_net smaller(/*with_batch_norm=*/false);
  training_optimizer other(split_batch_norm_parameters(*smaller), sgd_settings{});
  CHECK_THROWS_WITH(other.load(saved),
                    doctest::Contains("parameter norm.bias has a momentum buffer"));

  // A layer of another width: the shapes are named.
  struct wider_impl : torch::nn::Module {
    wider_impl() { first = register_module("first", torch::nn::Linear(6, 40)); }
    torch::nn::Linear first{nullptr};
  };
  auto wider = std::make_shared<wider_impl>();
  training_optimizer third({{{"first.weight", wider->first->weight}}, {}}, sgd_settings{});
  try {
    third.load({{"first.weight", saved.at("first.weight")}});
    FAIL("loaded a buffer of the wrong shape");
  } catch (const std::exception& error) {
    const std::string text = error.what();
    CHECK(text.find("first.weight has shape [32, 6], the parameter [40, 6]") != std::string::npos);
  }
  CHECK_THROWS_AS(training_optimizer({{{"a", torch::ones({1}, torch::requires_grad())},
                                       {"a", torch::ones({1}, torch::requires_grad())}},
                                      {}},
                                     sgd_settings{}),
                  std::invalid_argument);
}

TEST_CASE("SOLVER keys become SGD settings") {
  optimizer_section section;
  section.momentum = 0.8;
  section.dampening = 0.1;
  section.nesterov = false;
  section.weight_decay = 5e-4;
  section.batch_norm_weight_decay = 1e-5;
  const auto settings = sgd_settings_from(section);
  CHECK(settings.momentum == 0.8);
  CHECK(settings.dampening == 0.1);
  CHECK_FALSE(settings.nesterov);
  CHECK(settings.weight_decay == 5e-4);
  CHECK(settings.batch_norm_weight_decay == 1e-5);
}
