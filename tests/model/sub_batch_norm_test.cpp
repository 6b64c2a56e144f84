#include "model/sub_batch_norm.hpp"

#include <doctest/doctest.h>

#include <map>
#include <multigrid/batch_norm_statistics.hpp>
#include <string>
#include <type_traits>

#include "compat/torch_compat.hpp"
#include "model/split_batch_norm.hpp"
#include "model/split_batch_norm_cuda.hpp"
#include "model_test_support.hpp"

using namespace multigrid::reference;
using namespace multigrid::reference::testing;

namespace {

constexpr std::int64_t channels = 3;

SubBatchNorm3d layer_with_affine(int splits) {
  SubBatchNorm3d layer(channels);
  torch::NoGradGuard no_grad;
  layer->weight.copy_(torch::tensor({0.5f, 2.0f, -1.0f}));
  layer->bias.copy_(torch::tensor({0.1f, -0.3f, 0.7f}));
  layer->set_splits(splits);
  return layer;
}

torch::Tensor host_copy(const torch::Tensor& tensor) {
  return tensor.detach().clone();
}

}  // namespace

TEST_CASE("sub-batch BN trains like k BatchNorm3d layers on blocks of consecutive clips") {
  constexpr int splits = 4;
  auto layer = layer_with_affine(splits);
  torch::manual_seed(11);
  const auto input = (torch::randn({8, channels, 2, 3, 3}) * 3 + 1).requires_grad_();
  const auto projection = torch::randn({8, channels, 2, 3, 3});
  const auto output = layer(input);
  (output * projection).sum().backward();

  const auto reference_input = input.detach().clone().requires_grad_();
  torch::Tensor reference_output = torch::empty_like(output);
  torch::Tensor weight_grad = torch::zeros({channels});
  torch::Tensor bias_grad = torch::zeros({channels});
  for (int j = 0; j < splits; ++j) {
    torch::nn::BatchNorm3d reference(channels);
    {
      torch::NoGradGuard no_grad;
      reference->weight.copy_(layer->weight);
      reference->bias.copy_(layer->bias);
    }
    const auto rows = torch::tensor({2 * j, 2 * j + 1});  // split j: clips [j N / k, (j + 1) N / k)
    const auto split_output = reference(reference_input.index_select(0, rows));
    (split_output * projection.index_select(0, rows)).sum().backward();
    reference_output.index_copy_(0, rows, split_output.detach());
    weight_grad += reference->weight.grad();
    bias_grad += reference->bias.grad();
    // Split j's running statistics sit at [j * C, (j + 1) * C).
    CHECK(same_values(layer->training_running_mean().narrow(0, j * channels, channels),
                      reference->running_mean));
    CHECK(same_values(layer->training_running_var().narrow(0, j * channels, channels),
                      reference->running_var));
  }
  CHECK(same_values(output.detach(), reference_output));
  CHECK(same_values(input.grad(), reference_input.grad(), 1e-4));
  CHECK(same_values(layer->weight.grad(), weight_grad, 1e-4));
  CHECK(same_values(layer->bias.grad(), bias_grad, 1e-4));
}

TEST_CASE("evaluation uses the split statistics pooled by the library") {
  constexpr int splits = 4;
  auto layer = layer_with_affine(splits);
  torch::manual_seed(12);
  for (int step = 0; step < 3; ++step)
    layer(torch::randn({8, channels, 2, 3, 3}) * (step + 1) + step);
  CHECK(layer->pooling_pending());
  const auto split_mean = host_copy(layer->training_running_mean());
  const auto split_var = host_copy(layer->training_running_var());

  auto expected_mean = torch::empty({channels});
  auto expected_var = torch::empty({channels});
  multigrid::pool_split_statistics(split_mean.data_ptr<float>(), split_var.data_ptr<float>(),
                                   splits, channels, expected_mean.data_ptr<float>(),
                                   expected_var.data_ptr<float>());
  // The pooled mean is the mean of the split means; the splits really differ.
  CHECK(same_values(expected_mean, split_mean.view({splits, channels}).mean(0)));
  CHECK_FALSE(
      same_values(split_mean.narrow(0, 0, channels), split_mean.narrow(0, channels, channels)));

  layer->eval();
  const auto input = torch::randn({2, channels, 2, 3, 3});
  const auto output = layer(input);  // pools the pending statistics first
  CHECK_FALSE(layer->pooling_pending());
  CHECK(same_values(layer->running_mean, expected_mean));
  CHECK(same_values(layer->running_var, expected_var));
  CHECK(same_values(output, torch::batch_norm(input, layer->weight, layer->bias, expected_mean,
                                              expected_var, false, 0.1, 1e-5, false)));
}

TEST_CASE("one clip per split: the pooled mean is the whole batch's mean") {
  auto layer = layer_with_affine(8);
  layer->set_momentum(1.0);  // running statistics = the last batch's
  torch::manual_seed(13);
  const auto input = torch::randn({8, channels, 2, 4, 4}) * 2 - 1;
  layer(input);
  layer->pool_statistics();
  CHECK(same_values(layer->running_mean, input.mean({0, 2, 3, 4})));
}

TEST_CASE("changing the split count keeps the statistics: tile, then pool back") {
  auto layer = layer_with_affine(1);
  torch::manual_seed(14);
  layer(torch::randn({4, channels, 2, 3, 3}) + 2);
  const auto mean = host_copy(layer->running_mean);
  const auto var = host_copy(layer->running_var);
  layer->set_splits(8);
  CHECK(same_values(layer->training_running_mean(), mean.repeat({8})));
  layer->set_splits(2);
  layer->set_plain();
  CHECK(same_values(layer->running_mean, mean));
  CHECK(same_values(layer->running_var, var));
}

TEST_CASE("a batch the split count does not divide is an error naming layer, batch and k") {
  auto model = narrow_model();
  model->set_batch_norm_mode({multigrid::batch_norm_type::sub_batch, 4, 1});
  try {
    model->forward(random_clips(6, 8, 32));
    FAIL("no error");
  } catch (const std::invalid_argument& error) {
    const std::string message = error.what();
    CHECK(message.find("s1.pathway0_stem.bn") != std::string::npos);
    CHECK(message.find("batch of 6 clips") != std::string::npos);
    CHECK(message.find("4 sub-batch BN splits") != std::string::npos);
  }
}

TEST_CASE("sub-batch BN gives the same values in both memory formats, at every split count") {
  // The split counts of the schedules (Kinetics: 8, 4, 2) and one clip per split.
  for (int splits : {1, 2, 4, 8}) {
    CAPTURE(splits);
    torch::manual_seed(15);
    const auto input = torch::randn({8, channels, 2, 3, 3}) * 2 + 0.5;
    const auto projection = torch::randn({8, channels, 2, 3, 3});
    auto layer = layer_with_affine(splits);
    const auto contiguous_input = input.clone().requires_grad_();
    const auto expected = layer(contiguous_input);
    (expected * projection).sum().backward();
    CHECK(expected.is_contiguous());

    auto layer_cl = layer_with_affine(splits);
    const auto cl_input =
        input.contiguous(torch::MemoryFormat::ChannelsLast3d).detach().requires_grad_();
    const auto output = layer_cl(cl_input);
    (output * projection).sum().backward();
    CHECK(output.is_contiguous(torch::MemoryFormat::ChannelsLast3d));
    CHECK(cl_input.grad().is_contiguous(torch::MemoryFormat::ChannelsLast3d));
    CHECK(same_values(output, expected));
    CHECK(same_values(cl_input.grad(), contiguous_input.grad(), 1e-4));
    CHECK(same_values(layer_cl->weight.grad(), layer->weight.grad(), 1e-4));
    CHECK(same_values(layer_cl->bias.grad(), layer->bias.grad(), 1e-4));
    CHECK(same_values(layer_cl->training_running_mean(), layer->training_running_mean()));
    CHECK(same_values(layer_cl->training_running_var(), layer->training_running_var()));
  }
}

TEST_CASE("the regrouped and batched computations equal the in-place one, in both memory formats") {
  // Every split count of the schedules, 16 included (PySlowFast's global batch in one process).
  for (const auto format : {torch::MemoryFormat::Contiguous, torch::MemoryFormat::ChannelsLast3d}) {
    for (int splits : {1, 2, 4, 8, 16}) {
      CAPTURE(splits);
      CAPTURE(format == torch::MemoryFormat::Contiguous);
      torch::manual_seed(16);
      const auto input = (torch::randn({16, channels, 2, 3, 3}) * 2 + 0.5).contiguous(format);
      const auto projection = torch::randn({16, channels, 2, 3, 3});
      const auto weight = torch::tensor({0.5f, 2.0f, -1.0f}).requires_grad_();
      const auto bias = torch::tensor({0.1f, -0.3f, 0.7f}).requires_grad_();
      struct outcome {
        torch::Tensor output, input_grad, weight_grad, bias_grad, mean, var;
      };
      auto run = [&](auto function) {
        const auto x = input.detach().clone(format).requires_grad_();
        auto mean = torch::zeros({splits * channels});
        auto var = torch::ones({splits * channels});
        const auto output = function(x, weight, bias, mean, var, splits, 0.1, 1e-5);
        // autograd::grad returns the gradients as computed: a leaf's .grad would be re-laid out
        // to the leaf's format and hide a gradient in the wrong one.
        const auto grads = torch::autograd::grad({(output * projection).sum()}, {x, weight, bias});
        return outcome{output.detach(), grads[0], grads[1], grads[2], mean, var};
      };
      const auto in_place = run(split_batch_norm);
      for (const auto& [name, other] : {std::pair{"regrouped", run(split_batch_norm_regrouped)},
                                        std::pair{"batched", run(split_batch_norm_batched)}}) {
        CAPTURE(name);
        CHECK(other.output.is_contiguous(format));
        CHECK(other.input_grad.is_contiguous(format));
        CHECK(same_values(other.output, in_place.output));
        CHECK(same_values(other.input_grad, in_place.input_grad, 1e-4));
        CHECK(same_values(other.weight_grad, in_place.weight_grad, 1e-4));
        CHECK(same_values(other.bias_grad, in_place.bias_grad, 1e-4));
        CHECK(same_values(other.mean, in_place.mean));
        CHECK(same_values(other.var, in_place.var));
      }
    }
  }
}

TEST_CASE("the batched computation keeps bf16 activations with float statistics") {
  // As under autocast: bf16 activations, float parameters and running statistics. The reference
  // is the float computation of the same (rounded) values.
  constexpr int splits = 4;
  for (const auto format : {torch::MemoryFormat::Contiguous, torch::MemoryFormat::ChannelsLast3d}) {
    CAPTURE(format == torch::MemoryFormat::Contiguous);
    torch::manual_seed(18);
    // An offset several times the spread: the backward pass's sums must not cancel it away.
    const auto input = (torch::randn({8, channels, 2, 4, 4}) + 6).to(torch::kBFloat16);
    const auto projection = torch::randn({8, channels, 2, 4, 4}).to(torch::kBFloat16);
    const auto weight = torch::tensor({0.5f, 2.0f, -1.0f}).requires_grad_();
    const auto bias = torch::tensor({0.1f, -0.3f, 0.7f}).requires_grad_();
    auto run = [&](const torch::Tensor& values, const torch::Tensor& direction) {
      const auto x = values.contiguous(format).detach().requires_grad_();
      auto mean = torch::zeros({splits * channels});
      auto var = torch::ones({splits * channels});
      const auto output = split_batch_norm_batched(x, weight, bias, mean, var, splits, 0.1, 1e-5);
      const auto grads =
          torch::autograd::grad({(output.to(torch::kFloat) * direction).sum()}, {x, weight, bias});
      return std::vector<torch::Tensor>{output.detach(), grads[0], grads[1], grads[2], mean, var};
    };
    const auto half = run(input, projection.to(torch::kFloat));
    const auto full = run(input.to(torch::kFloat), projection.to(torch::kFloat));
    CHECK((half[0].scalar_type() == torch::kBFloat16));
    CHECK((half[1].scalar_type() == torch::kBFloat16));
    CHECK(half[0].is_contiguous(format));
    CHECK(half[1].is_contiguous(format));
    CHECK((half[4].scalar_type() == torch::kFloat));
    // bf16 keeps 8 bits: outputs and gradients to a few parts in a thousand of their scale.
    CHECK(torch::allclose(half[0].to(torch::kFloat), full[0], 2e-2, 2e-2));
    CHECK(torch::allclose(half[1].to(torch::kFloat), full[1], 2e-2, 2e-2));
    CHECK(torch::allclose(half[2], full[2], 1e-2, 1e-2));
    CHECK(torch::allclose(half[3], full[3], 1e-3, 1e-3));
    CHECK(torch::allclose(half[4], full[4], 1e-5, 1e-5));
    CHECK(torch::allclose(half[5], full[5], 1e-4, 1e-4));
  }
}

TEST_CASE("split_batch_norm uses the device's computation unless a run or benchmark chose one") {
  CHECK(split_batch_norm_method_for(torch::kCPU) == split_batch_norm_method::in_place);
  CHECK(split_batch_norm_method_for(torch::Device(torch::kCUDA, 0)) ==
        split_batch_norm_method::regrouped);
  CHECK(split_batch_norm_method_named("batched") == split_batch_norm_method::batched);
  CHECK(split_batch_norm_method_named("in_place") == split_batch_norm_method::in_place);
  CHECK(split_batch_norm_method_named("regrouped") == split_batch_norm_method::regrouped);
  CHECK(std::string(split_batch_norm_method_name(split_batch_norm_method::batched)) == "batched");
  CHECK_THROWS_WITH(split_batch_norm_method_named("fused"),
                    "sub-batch BN computation 'fused': use in_place, regrouped or batched");

  // The in-place computation's backward node differs from the others' by name.
  const auto backward_name = [] {
    const auto x = torch::randn({4, channels, 2, 3, 3}).requires_grad_();
    auto mean = torch::zeros({2 * channels});
    auto var = torch::ones({2 * channels});
    return split_batch_norm(x, torch::ones({channels}), torch::zeros({channels}), mean, var, 2, 0.1,
                            1e-5)
        .grad_fn()
        ->name();
  };
  const auto default_name = backward_name();
  choose_split_batch_norm_method(split_batch_norm_method::batched);
  const auto batched_name = backward_name();
  choose_split_batch_norm_method(split_batch_norm_method::regrouped);
  const auto regrouped_name = backward_name();
  choose_split_batch_norm_method(std::nullopt);
  CHECK(split_batch_norm_method_for(torch::Device(torch::kCUDA, 0)) ==
        split_batch_norm_method::regrouped);
  CHECK(backward_name() == default_name);
  CHECK(default_name.find("SplitBatchNormFunction") != std::string::npos);
  CHECK(default_name.find("Batched") == std::string::npos);
  CHECK(batched_name.find("BatchedSplitBatchNormFunction") != std::string::npos);
  CHECK(regrouped_name.find("SplitBatchNormFunction") == std::string::npos);
}

TEST_CASE("a scoped choice of computation holds while it lives and gives the earlier one back") {
  choose_split_batch_norm_method(split_batch_norm_method::regrouped);
  {
    const scoped_split_batch_norm_method batched(split_batch_norm_method::batched);
    CHECK(split_batch_norm_method_for(torch::kCPU) == split_batch_norm_method::batched);
    {
      const scoped_split_batch_norm_method device_default(std::nullopt);
      CHECK(split_batch_norm_method_for(torch::kCPU) == split_batch_norm_method::in_place);
    }
    CHECK(split_batch_norm_method_for(torch::kCPU) == split_batch_norm_method::batched);
  }
  CHECK(split_batch_norm_method_for(torch::kCPU) == split_batch_norm_method::regrouped);
  choose_split_batch_norm_method(std::nullopt);
}

TEST_CASE("every computation takes an input of any strides") {
  torch::manual_seed(17);
  const auto input = torch::randn({8, channels, 2, 3, 6}).narrow(4, 1, 3);  // neither layout
  REQUIRE_FALSE(input.is_contiguous());
  const auto weight = torch::tensor({0.5f, 2.0f, -1.0f});
  const auto bias = torch::tensor({0.1f, -0.3f, 0.7f});
  auto mean_a = torch::zeros({4 * channels});
  auto var_a = torch::ones({4 * channels});
  const auto in_place = split_batch_norm(input, weight, bias, mean_a, var_a, 4, 0.1, 1e-5);
  for (const auto function : {split_batch_norm_regrouped, split_batch_norm_batched}) {
    auto mean_b = torch::zeros({4 * channels});
    auto var_b = torch::ones({4 * channels});
    const auto other = function(input, weight, bias, mean_b, var_b, 4, 0.1, 1e-5);
    CHECK(same_values(other, in_place));
    CHECK(same_values(mean_b, mean_a));
    CHECK(same_values(var_b, var_a));
  }
}

TEST_CASE("set_batch_norm_mode keeps the parameters and the optimizer's state") {
  auto model = narrow_model();
  std::vector<torch::Tensor> before = model->parameters();
  torch::optim::SGD optimizer(model->parameters(), torch::optim::SGDOptions(0.1).momentum(0.9));
  const auto labels = torch::tensor({0, 1, 2, 3}, torch::kLong);
  const auto step = [&] {
    optimizer.zero_grad();
    torch::nn::functional::cross_entropy(model->forward(random_clips(4, 8, 32)), labels).backward();
    optimizer.step();
  };

  model->set_batch_norm_mode({multigrid::batch_norm_type::sub_batch, 4, 1});
  step();
  // The optimizer's state as (key, momentum buffer) pairs; the key type differs across LibTorch
  // versions, so it is only compared with itself.
  const auto snapshot = [&] {
    using key_type = std::decay_t<decltype(optimizer.state().begin()->first)>;
    std::map<key_type, torch::Tensor> state;
    for (const auto& [key, value] : optimizer.state()) {
      state[key] = static_cast<torch::optim::SGDParamState&>(*value).momentum_buffer().clone();
    }
    return state;
  };
  const auto saved = snapshot();
  CHECK(saved.size() == before.size());

  for (int splits : {2, 1, 4}) {
    model->set_batch_norm_mode(
        {splits == 1 ? multigrid::batch_norm_type::plain : multigrid::batch_norm_type::sub_batch,
         splits, 1});
    const auto after = model->parameters();
    REQUIRE(after.size() == before.size());
    for (std::size_t i = 0; i < after.size(); ++i) CHECK(after[i].is_same(before[i]));
    const auto current = snapshot();
    REQUIRE(current.size() == saved.size());
    for (const auto& [key, buffer] : saved) CHECK(current.at(key).equal(buffer));
  }
  step();  // the optimizer still drives the same tensors: no new state, the buffers moved on
  const auto stepped = snapshot();
  CHECK(stepped.size() == saved.size());
  CHECK_FALSE(stepped.begin()->second.equal(saved.begin()->second));
}

TEST_CASE("sub-batch BN allocates no activation-sized tensor beyond what plain BN allocates") {
  // Forward and backward of one layer, counting allocations of at least the activation's size.
  const auto large_allocations = [](int splits, torch::MemoryFormat format) {
    auto layer = layer_with_affine(splits);
    torch::manual_seed(16);
    const auto input =
        torch::randn({16, channels, 4, 6, 6}).contiguous(format).detach().requires_grad_();
    const auto projection = torch::randn({16, channels, 4, 6, 6}).contiguous(format);
    const auto bytes = static_cast<std::size_t>(input.numel()) * sizeof(float);
    multigrid::reference::compat::recording_cpu_allocator recorder;
    const auto output = layer(input);
    const auto forward = recorder.count_at_least(bytes);
    recorder.clear();
    output.backward(projection);
    return std::make_pair(forward, recorder.count_at_least(bytes));
  };
  // The regrouped computation copies by design; the other two must not.
  for (const auto method : {split_batch_norm_method::in_place, split_batch_norm_method::batched}) {
    CAPTURE(method == split_batch_norm_method::in_place);
    choose_split_batch_norm_method(method);
    for (const auto format :
         {torch::MemoryFormat::Contiguous, torch::MemoryFormat::ChannelsLast3d}) {
      CAPTURE(format == torch::MemoryFormat::Contiguous);
      const auto plain = large_allocations(1, format);
      CHECK(plain.first == 1);   // the output
      CHECK(plain.second >= 1);  // the input's gradient
      for (int splits : {2, 4, 8, 16}) {
        CAPTURE(splits);
        const auto sub = large_allocations(splits, format);
        CHECK(sub.first == 1);  // the output, in place of the regrouped copies
        CHECK(sub.second >= 1);
        CHECK(sub.second <= plain.second);
      }
    }
  }
  choose_split_batch_norm_method(std::nullopt);
}

// Runs where CUDA is (bench/gpu/gpu_check.sh runs it on the GPU machine); skipped elsewhere.
// Every computation, the batched one with the project's kernels where they were built.
TEST_CASE("on CUDA, sub-batch BN in channels-last-3d and bf16 equals the CPU computation" *
          doctest::skip(!torch::cuda::is_available())) {
  for (const auto method : {split_batch_norm_method::regrouped, split_batch_norm_method::batched,
                            split_batch_norm_method::in_place}) {
    for (int splits : {2, 4, 8, 16}) {
      CAPTURE(static_cast<int>(method));
      CAPTURE(splits);
      torch::manual_seed(17);
      const auto input = torch::randn({16, channels, 4, 6, 6}) * 2 + 0.5;
      const auto projection = torch::randn({16, channels, 4, 6, 6});
      auto cpu_layer = layer_with_affine(splits);
      const auto cpu_input = input.clone().requires_grad_();
      const auto cpu_output = cpu_layer(cpu_input);
      (cpu_output * projection).sum().backward();

      choose_split_batch_norm_method(method);
      auto cuda_layer = layer_with_affine(splits);
      cuda_layer->to(torch::kCUDA);
      const auto cuda_input = input.to(torch::kCUDA)
                                  .contiguous(torch::MemoryFormat::ChannelsLast3d)
                                  .detach()
                                  .requires_grad_();
      const auto cuda_output = cuda_layer(cuda_input);
      (cuda_output * projection.to(torch::kCUDA)).sum().backward();
      CHECK(cuda_output.is_contiguous(torch::MemoryFormat::ChannelsLast3d));
      CHECK(same_values(cuda_output.cpu(), cpu_output, 1e-4));
      CHECK(same_values(cuda_input.grad().cpu(), cpu_input.grad(), 1e-3));
      CHECK(same_values(cuda_layer->weight.grad().cpu(), cpu_layer->weight.grad(), 1e-3));
      CHECK(same_values(cuda_layer->bias.grad().cpu(), cpu_layer->bias.grad(), 1e-3));
      CHECK(same_values(cuda_layer->training_running_var().cpu(), cpu_layer->training_running_var(),
                        1e-4));

      // bf16 activations with float parameters, as under autocast.
      auto half_layer = layer_with_affine(splits);
      half_layer->to(torch::kCUDA);
      const auto half_input = cuda_input.detach().to(torch::kBFloat16).requires_grad_();
      const auto half_output = half_layer(half_input);
      (half_output.to(torch::kFloat) * projection.to(torch::kCUDA)).sum().backward();
      choose_split_batch_norm_method(std::nullopt);
      CHECK((half_output.scalar_type() == torch::kBFloat16));
      CHECK((half_input.grad().scalar_type() == torch::kBFloat16));
      CHECK(half_input.grad().is_contiguous(torch::MemoryFormat::ChannelsLast3d));
      CHECK(torch::allclose(half_output.to(torch::kFloat).cpu(), cpu_output.detach(), 5e-2, 5e-2));
      CHECK(
          torch::allclose(half_input.grad().to(torch::kFloat).cpu(), cpu_input.grad(), 5e-2, 5e-2));
      CHECK(torch::allclose(half_layer->weight.grad().cpu(), cpu_layer->weight.grad(), 5e-2, 5e-2));
    }
  }
}

// Where MULTIGRID_CUDA_KERNELS built them, channels-last-3d activations take the project's kernels
// and contiguous ones LibTorch's operations: the two must agree, in float, half and bf16.
// 40 channels: two channel blocks, the second partly idle.
TEST_CASE("on CUDA, the batched computation's kernels equal its LibTorch operations" *
          doctest::skip(!torch::cuda::is_available())) {
  constexpr std::int64_t wide = 40;
  for (int splits : {2, 4, 16}) {
    for (const auto type : {torch::kFloat, torch::kHalf, torch::kBFloat16}) {
      CAPTURE(splits);
      CAPTURE(type == torch::kHalf);
      torch::manual_seed(19);
      const auto cuda = torch::TensorOptions().device(torch::kCUDA);
      const auto input = torch::randn({16, wide, 4, 6, 6}, cuda) * 3 + 2;
      const auto projection = torch::randn({16, wide, 4, 6, 6}, cuda);
      const auto weight = (torch::rand({wide}, cuda) + 0.5).requires_grad_();
      const auto bias = torch::randn({wide}, cuda).requires_grad_();
      auto run = [&](torch::MemoryFormat format) {
        const auto x = input.to(type).contiguous(format).detach().requires_grad_();
        auto mean = torch::zeros({splits * wide}, cuda);
        auto var = torch::ones({splits * wide}, cuda);
        const auto output = split_batch_norm_batched(x, weight, bias, mean, var, splits, 0.1, 1e-5);
        const auto grads = torch::autograd::grad({(output.to(torch::kFloat) * projection).sum()},
                                                 {x, weight, bias});
        return std::vector<torch::Tensor>{output.detach().to(torch::kFloat).cpu(),
                                          grads[0].to(torch::kFloat).cpu(),
                                          grads[1].cpu(),
                                          grads[2].cpu(),
                                          mean.cpu(),
                                          var.cpu()};
      };
#ifdef MULTIGRID_CUDA_KERNELS
      // Otherwise this would compare LibTorch's operations with themselves.
      REQUIRE(cuda_kernels_apply(input.to(type).contiguous(torch::MemoryFormat::ChannelsLast3d),
                                 torch::MemoryFormat::ChannelsLast3d, weight, bias,
                                 torch::zeros({splits * wide}, cuda),
                                 torch::ones({splits * wide}, cuda)));
#else
      MESSAGE("built without MULTIGRID_CUDA_KERNELS: both layouts take LibTorch's operations");
#endif
      const auto kernels = run(torch::MemoryFormat::ChannelsLast3d);
      const auto operations = run(torch::MemoryFormat::Contiguous);
      const double tolerance =
          type == torch::kHalf ? 1e-2 : (type == torch::kBFloat16 ? 5e-2 : 1e-4);
      for (std::size_t i = 0; i < kernels.size(); ++i) {
        CAPTURE(i);
        CHECK(torch::allclose(kernels[i], operations[i], tolerance, tolerance));
      }
    }
  }
}
