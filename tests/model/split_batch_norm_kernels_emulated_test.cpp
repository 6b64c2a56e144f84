// Sub-batch BN's CUDA kernels (split_batch_norm_kernels.cu) as written, run on the CPU by the
// emulated CUDA runtime of cuda_emulation/: every block, every thread, every barrier, in float,
// bf16 and half, through the calls the CUDA path makes (split_batch_norm_kernel_calls.hpp), against
// sub-batch BN on the CPU. Each launch runs twice, its blocks, and its threads between barriers, in
// ascending and in descending order: a read of shared memory that lacks its barrier gives
// different results in the two, and the kernels' fixed-order sums must give the same bits in both.

#include <doctest/doctest.h>

#include <cstdint>
#include <vector>

#include "model/cuda_emulation/cuda_emulation_order.hpp"
#include "model/split_batch_norm.hpp"
#include "model/split_batch_norm_kernel_calls.hpp"

using namespace multigrid::reference;

namespace {

struct kernel_results {
  torch::Tensor output;
  torch::Tensor running_mean;
  torch::Tensor running_var;
  torch::Tensor grad_input;
  torch::Tensor grad_weight;
  torch::Tensor grad_bias;
};

kernel_results run_kernels(const torch::Tensor& x, const torch::Tensor& dy,
                           const torch::Tensor& weight, const torch::Tensor& bias,
                           std::int64_t splits, double epsilon) {
  kernel_results r;
  r.running_mean = torch::zeros({splits * x.size(1)});
  r.running_var = torch::ones({splits * x.size(1)});
  REQUIRE(kernels_apply(x, torch::MemoryFormat::ChannelsLast3d, weight, bias, r.running_mean,
                        r.running_var));
  const auto forward = kernels_batched_forward(x, weight, bias, r.running_mean, r.running_var,
                                               splits, 0.1, epsilon, nullptr);
  const auto backward =
      kernels_batched_backward(x, dy, weight, forward.mean, forward.inverse_std, nullptr);
  r.output = forward.output;
  r.grad_input = backward.grad_input;
  r.grad_weight = backward.grad_weight;
  r.grad_bias = backward.grad_bias;
  return r;
}

bool same_bits(const torch::Tensor& a, const torch::Tensor& b) {
  return a.sizes() == b.sizes() && a.scalar_type() == b.scalar_type() && torch::equal(a, b);
}

void check_against_the_cpu(torch::ScalarType type) {
  struct example {
    std::vector<std::int64_t> shape;
    int splits;
    double epsilon = 1e-5;
  };
  // Two channel blocks with the second partly idle, few channels, one channel, many channels,
  // an odd count, splits of 2,048 rows that each thread walks in steps of ten, and launches of
  // one block. An epsilon of 0.5 against a variance of about 4 shows whether it is added.
  const std::vector<example> examples = {{{16, 40, 2, 5, 5}, 4},    {{8, 3, 4, 6, 6}, 8},
                                         {{32, 1, 2, 4, 4}, 16},    {{4, 256, 1, 8, 8}, 2, 0.5},
                                         {{6, 33, 3, 7, 7}, 3},     {{2, 24, 8, 16, 16}, 2},
                                         {{2, 16, 2, 4, 4}, 1, 0.5}};
  const auto channels_last = torch::MemoryFormat::ChannelsLast3d;
  for (const auto& [shape, splits, epsilon] : examples) {
    CAPTURE(splits);
    CAPTURE(shape[1]);
    torch::manual_seed(23);
    // A mean far from zero: the shifted moments must keep the variance.
    const auto x = (torch::randn(shape) * 2 + 20).to(type).contiguous(channels_last);
    const auto dy = torch::randn(shape).to(type).contiguous(channels_last);
    const auto weight = torch::rand({shape[1]}) + 0.5;
    const auto bias = torch::randn({shape[1]});

    const auto ascending = [&] {
      const cuda_emulation::scoped_order order(cuda_emulation::run_order::ascending);
      return run_kernels(x, dy, weight, bias, splits, epsilon);
    }();
    const auto r = [&] {
      const cuda_emulation::scoped_order order(cuda_emulation::run_order::descending);
      return run_kernels(x, dy, weight, bias, splits, epsilon);
    }();
    CHECK(same_bits(ascending.output, r.output));
    CHECK(same_bits(ascending.grad_input, r.grad_input));
    CHECK(same_bits(ascending.grad_weight, r.grad_weight));
    CHECK(same_bits(ascending.grad_bias, r.grad_bias));
    CHECK(same_bits(ascending.running_mean, r.running_mean));
    CHECK(same_bits(ascending.running_var, r.running_var));
    CHECK(r.output.is_contiguous(channels_last));
    CHECK(r.grad_input.is_contiguous(channels_last));

    // The same layer on the CPU, in float from the same values.
    const auto input = x.to(torch::kFloat).requires_grad_();
    const auto reference_weight = weight.clone().requires_grad_();
    const auto reference_bias = bias.clone().requires_grad_();
    auto reference_mean = torch::zeros({splits * shape[1]});
    auto reference_var = torch::ones({splits * shape[1]});
    const auto reference = split_batch_norm(input, reference_weight, reference_bias, reference_mean,
                                            reference_var, splits, 0.1, epsilon);
    const auto grads = torch::autograd::grad({reference}, {input, reference_weight, reference_bias},
                                             {dy.to(torch::kFloat)});
    // The activations' results are stored in their type: one rounding of the float result.
    const double stored = type == torch::kFloat ? 1e-4 : type == torch::kHalf ? 2e-3 : 1e-2;
    CHECK(torch::allclose(r.output.to(torch::kFloat), reference.detach().to(type).to(torch::kFloat),
                          stored, stored));
    CHECK(torch::allclose(r.grad_input.to(torch::kFloat), grads[0].to(type).to(torch::kFloat),
                          stored, stored));
    CHECK(torch::allclose(r.grad_weight, grads[1], 1e-4, 1e-3));
    CHECK(torch::allclose(r.grad_bias, grads[2], 1e-4, 1e-3));
    CHECK(torch::allclose(r.running_mean, reference_mean, 1e-5, 1e-4));
    CHECK(torch::allclose(r.running_var, reference_var, 1e-4, 1e-4));
  }
}

}  // namespace

TEST_CASE(
    "sub-batch BN's CUDA kernels, run on emulated CUDA threads, compute sub-batch BN: float") {
  check_against_the_cpu(torch::kFloat);
}

TEST_CASE("sub-batch BN's CUDA kernels, run on emulated CUDA threads, compute sub-batch BN: bf16") {
  check_against_the_cpu(torch::kBFloat16);
}

TEST_CASE("sub-batch BN's CUDA kernels, run on emulated CUDA threads, compute sub-batch BN: half") {
  check_against_the_cpu(torch::kHalf);
}

TEST_CASE("sub-batch BN's kernels refuse what they cannot take, naming it") {
  const auto weight = torch::ones({4});
  const auto bias = torch::zeros({4});
  auto mean = torch::zeros({8});
  auto var = torch::ones({8});
  const auto contiguous = torch::randn({4, 4, 2, 3, 3});
  CHECK_FALSE(kernels_apply(contiguous, torch::MemoryFormat::Contiguous, weight, bias, mean, var));
  CHECK_FALSE(kernels_apply(contiguous.to(torch::kDouble), torch::MemoryFormat::ChannelsLast3d,
                            weight, bias, mean, var));
  CHECK_FALSE(kernels_apply(contiguous, torch::MemoryFormat::ChannelsLast3d,
                            weight.to(torch::kHalf), bias, mean, var));
  CHECK_THROWS_WITH(
      kernels_batched_forward(contiguous, weight, bias, mean, var, 2, 0.1, 1e-5, nullptr),
      doctest::Contains("expected a channels-last-3d tensor"));
  const auto x = contiguous.contiguous(torch::MemoryFormat::ChannelsLast3d);
  CHECK_THROWS_WITH(kernels_batched_forward(x, weight, bias, mean, var, 3, 0.1, 1e-5, nullptr),
                    doctest::Contains("3 splits of a batch of 4"));
  const auto forward = kernels_batched_forward(x, weight, bias, mean, var, 2, 0.1, 1e-5, nullptr);
  CHECK_THROWS_WITH(kernels_batched_backward(x, torch::randn({4, 4, 2, 3, 3}), weight, forward.mean,
                                             forward.inverse_std, nullptr),
                    doctest::Contains("beside the activations"));
}
