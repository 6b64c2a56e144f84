// Our norm layer against what PySlowFast's own code computes (tests/model/pyslowfast/, made by
// make_fixture.py from PySlowFast's batchnorm_helper.py and fvcore's precise_bn.py): sub-batch BN's
// training forward, backward, running and pooled statistics and evaluation forward at every split
// count, precise BN, and a few SGD steps of a small network built around the layer.
//
// PySlowFast's split j holds clips j, j + k, j + 2k, ...; ours holds a block of consecutive clips
// (split_batch_norm.hpp). The tests hand our layer the same clips in block order, so that each of
// our splits holds exactly the clips of PySlowFast's split, and compare in PySlowFast's order.

#include <doctest/doctest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "model/precise_batch_norm.hpp"
#include "model/sub_batch_norm.hpp"
#include "model_test_support.hpp"

using namespace multigrid::reference;
using namespace multigrid::reference::testing;
using json = nlohmann::json;

namespace {

const json& fixture() {
  static const json data = [] {
    const std::string path =
        std::string(MULTIGRID_SOURCE_DIR) + "/tests/model/pyslowfast/pyslowfast_batch_norm.json";
    std::ifstream file(path);
    REQUIRE_MESSAGE(file.good(), "cannot read " << path);
    return json::parse(file);
  }();
  return data;
}

torch::Tensor flat(const json& values) {
  return torch::tensor(values.get<std::vector<float>>(), torch::kFloat);
}

torch::Tensor tensor(const json& entry) {
  return flat(entry.at("values")).reshape(entry.at("shape").get<std::vector<std::int64_t>>());
}

// Values of order one, computed in float on both sides.
bool close(const torch::Tensor& ours, const json& theirs, double tolerance = 2e-5) {
  const auto expected = flat(theirs);
  const auto actual = ours.detach().reshape(-1).to(torch::kFloat);
  if (actual.numel() != expected.numel()) return false;
  return torch::allclose(actual, expected, tolerance, tolerance);
}

// The clips of PySlowFast's split j (j, j + k, ...) as our block j, and back.
torch::Tensor block_order(std::int64_t batch, int splits) {
  const auto rows = batch / splits;
  std::vector<std::int64_t> order;
  for (std::int64_t j = 0; j < splits; ++j) {
    for (std::int64_t r = 0; r < rows; ++r) order.push_back(r * splits + j);
  }
  return torch::tensor(order, torch::kLong);
}

torch::Tensor to_blocks(const torch::Tensor& batch, int splits) {
  return batch.index_select(0, block_order(batch.size(0), splits));
}

torch::Tensor from_blocks(const torch::Tensor& batch, int splits) {
  return batch.index_select(0, torch::argsort(block_order(batch.size(0), splits)));
}

SubBatchNorm3d layer_with_splits(std::int64_t channels, int splits) {
  SubBatchNorm3d layer(channels);
  layer->set_splits(splits);
  return layer;
}

// A convolution, our norm layer and a linear head: PySlowFast's SmallNet of make_fixture.py.
struct SmallNetImpl : torch::nn::Module {
  explicit SmallNetImpl(int splits)
      : conv(register_module(
            "conv", torch::nn::Conv3d(
                        torch::nn::Conv3dOptions(3, 4, {1, 3, 3}).padding({0, 1, 1}).bias(false)))),
        norm(register_module("norm", layer_with_splits(4, splits))),
        head(register_module("head", torch::nn::Linear(4, 5))) {}
  torch::Tensor forward(const torch::Tensor& x) {
    return head(torch::relu(norm(conv(x))).mean({2, 3, 4}));
  }
  torch::nn::Conv3d conv;
  SubBatchNorm3d norm;
  torch::nn::Linear head;
};
TORCH_MODULE(SmallNet);

}  // namespace

TEST_CASE("sub-batch BN computes what PySlowFast's SubBatchNorm3d computes, at every split count") {
  const auto& data = fixture().at("sub_batch_norm");
  const auto first = tensor(data.at("first"));
  const auto second = tensor(data.at("second"));
  const auto third = tensor(data.at("third"));
  const auto upstream = tensor(data.at("upstream"));
  for (const auto& expected : data.at("cases")) {
    const int splits = expected.at("splits").get<int>();
    CAPTURE(splits);
    auto layer = layer_with_splits(3, splits);
    {
      torch::NoGradGuard no_grad;
      layer->weight.copy_(flat(data.at("weight")));
      layer->bias.copy_(flat(data.at("bias")));
    }
    layer->train();
    layer->forward(to_blocks(first, splits));
    const auto x = to_blocks(second, splits).requires_grad_(true);
    const auto out = layer->forward(x);
    (out * to_blocks(upstream, splits)).sum().backward();
    CHECK(close(from_blocks(out, splits), expected.at("output")));
    CHECK(close(from_blocks(x.grad(), splits), expected.at("grad_input"), 1e-4));
    CHECK(close(layer->weight.grad(), expected.at("grad_weight"), 1e-4));
    CHECK(close(layer->bias.grad(), expected.at("grad_bias"), 1e-4));
    CHECK(close(layer->training_running_mean(), expected.at("split_running_mean")));
    CHECK(close(layer->training_running_var(), expected.at("split_running_var")));
    layer->pool_statistics();
    CHECK(close(layer->running_mean, expected.at("pooled_running_mean")));
    CHECK(close(layer->running_var, expected.at("pooled_running_var")));
    layer->eval();
    torch::NoGradGuard no_grad;
    CHECK(close(layer->forward(third), expected.at("evaluation_output")));
  }
}

TEST_CASE("precise BN computes what fvcore's update_bn_stats computes for PySlowFast") {
  const auto& data = fixture().at("precise_batch_norm");
  const auto weight = tensor(data.at("conv_weight"));
  std::vector<torch::Tensor> batches;
  for (const auto& batch : data.at("batches")) batches.push_back(tensor(batch));
  int checked = 0;
  for (const auto& expected : data.at("cases")) {
    const auto estimator = expected.at("estimator").get<std::string>();
    const int splits = expected.at("splits").get<int>();
    CAPTURE(estimator);
    CAPTURE(splits);
    torch::nn::Conv3d conv(torch::nn::Conv3dOptions(3, 4, 1).bias(false));
    {
      torch::NoGradGuard no_grad;
      conv->weight.copy_(weight);
    }
    auto norm = layer_with_splits(4, splits);
    torch::nn::Sequential model(conv, norm);
    std::size_t next = 0;
    const int used = update_precise_batch_norm(
        *model, {norm},
        [&] {
          if (next == batches.size()) return false;
          model->forward(to_blocks(batches[next++], splits));
          return true;
        },
        static_cast<int>(batches.size()));
    CHECK(used == static_cast<int>(batches.size()));
    const bool equal = close(norm->running_mean, expected.at("running_mean"), 1e-4) &&
                       close(norm->running_var, expected.at("running_var"), 1e-4);
    // Ours is fvcore's current estimator; the one it used before May 2021 gives other variances.
    if (estimator == "population") {
      CHECK(equal);
    } else {
      CHECK_FALSE(equal);
    }
    ++checked;
  }
  CHECK(checked == 4);
}

TEST_CASE("a small network with our norm layer trains as the same network with PySlowFast's") {
  const auto& data = fixture().at("training");
  std::vector<torch::Tensor> clips;
  std::vector<torch::Tensor> labels;
  for (const auto& entry : data.at("clips")) clips.push_back(tensor(entry));
  for (const auto& entry : data.at("labels")) labels.push_back(flat(entry).to(torch::kLong));
  const auto lrs = data.at("lrs").get<std::vector<double>>();
  for (const auto& expected : data.at("cases")) {
    const int splits = expected.at("splits").get<int>();
    CAPTURE(splits);
    SmallNet net(splits);
    {
      torch::NoGradGuard no_grad;
      for (auto& item : net->named_parameters()) {
        item.value().copy_(tensor(data.at("initial").at(item.key())));
      }
    }
    std::vector<torch::Tensor> norm_parameters{net->norm->weight, net->norm->bias};
    std::vector<torch::Tensor> other{net->conv->weight, net->head->weight, net->head->bias};
    auto options = torch::optim::SGDOptions(0.1).momentum(0.9).nesterov(true);
    std::vector<torch::optim::OptimizerParamGroup> groups;
    groups.emplace_back(other, std::make_unique<torch::optim::SGDOptions>(
                                   torch::optim::SGDOptions(options).weight_decay(1e-4)));
    groups.emplace_back(norm_parameters, std::make_unique<torch::optim::SGDOptions>(
                                             torch::optim::SGDOptions(options).weight_decay(0)));
    torch::optim::SGD optimizer(groups, options);
    net->train();
    std::vector<double> losses;
    for (std::size_t step = 0; step < clips.size(); ++step) {
      for (auto& group : optimizer.param_groups()) {
        static_cast<torch::optim::SGDOptions&>(group.options()).lr(lrs[step]);
      }
      optimizer.zero_grad();
      const auto loss = torch::nn::functional::cross_entropy(
          net->forward(to_blocks(clips[step], splits)), to_blocks(labels[step], splits));
      loss.backward();
      optimizer.step();
      losses.push_back(loss.item<double>());
    }
    CHECK(close(torch::tensor(losses), expected.at("losses"), 1e-4));
    for (const auto& item : net->named_parameters()) {
      CAPTURE(item.key());
      CHECK(close(item.value(), expected.at("parameters").at(item.key()), 1e-4));
    }
    net->norm->pool_statistics();
    CHECK(close(net->norm->running_mean, expected.at("running_mean"), 1e-4));
    CHECK(close(net->norm->running_var, expected.at("running_var"), 1e-4));
  }
}
