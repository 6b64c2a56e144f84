// Sub-batch BN's CUDA kernels (split_batch_norm_kernels.cu) as written, run on the CPU by the
// emulated CUDA runtime of cuda_emulation/: every block, every thread, every barrier, in float,
// bf16 and half, called in the order split_batch_norm_cuda.cpp calls them, against sub-batch BN
// on the CPU. Each launch runs twice, its threads in ascending and in descending order between
// barriers: a read of shared memory that lacks its barrier gives different results in the two,
// and the kernels' fixed-order sums must give the same bits in both.

#include <doctest/doctest.h>

#include <cstdint>
#include <vector>

#include "model/cuda_emulation/cuda_runtime.h"
#include "model/split_batch_norm.hpp"
#include "model/split_batch_norm_kernels.hpp"

using namespace multigrid::reference::cuda_kernels;

namespace {

struct kernel_results {
  torch::Tensor output;
  torch::Tensor running_mean;
  torch::Tensor running_var;
  torch::Tensor grad_input;
  torch::Tensor grad_weight;
  torch::Tensor grad_bias;
};

element_type element_type_of(torch::ScalarType type) {
  if (type == torch::kBFloat16) return element_type::bfloat16;
  if (type == torch::kHalf) return element_type::float16;
  return element_type::float32;
}

float* floats(const torch::Tensor& t) {
  return t.data_ptr<float>();
}

// What split_batch_norm_cuda.cpp does around the kernels, on CPU tensors.
kernel_results run_kernels(const torch::Tensor& x, const torch::Tensor& dy,
                           const torch::Tensor& weight, const torch::Tensor& bias,
                           std::int64_t splits) {
  const auto channels = x.size(1);
  const split_layout layout{splits, x.numel() / (splits * channels), channels};
  const auto type = element_type_of(x.scalar_type());
  kernel_results r;
  r.running_mean = torch::zeros({splits * channels});
  r.running_var = torch::ones({splits * channels});
  // NaN-filled scratch and outputs: a value a kernel should write and does not shows.
  const auto unset = [](std::vector<std::int64_t> shape) {
    return torch::full(shape, std::numeric_limits<float>::quiet_NaN());
  };
  auto scratch = unset({scratch_floats(layout, 3)});
  auto statistics = unset({4, splits, channels});
  const char* error = split_forward_statistics(
      type, x.data_ptr(), layout, floats(weight), floats(bias), 1e-5f, 0.1f, floats(r.running_mean),
      floats(r.running_var), floats(scratch), floats(statistics[0]), floats(statistics[1]),
      floats(statistics[2]), floats(statistics[3]), nullptr);
  REQUIRE_MESSAGE(error == nullptr, error);
  r.output = torch::full_like(x, std::numeric_limits<float>::quiet_NaN());
  error = split_affine(type, x.data_ptr(), floats(statistics[2]), nullptr, nullptr,
                       floats(statistics[3]), layout, r.output.data_ptr(), nullptr);
  REQUIRE_MESSAGE(error == nullptr, error);

  scratch = unset({scratch_floats(layout, 2)});
  auto coefficients = unset({3, splits, channels});
  auto affine_parts = unset({2, splits, channels});
  error = split_backward_coefficients(
      type, x.data_ptr(), dy.data_ptr(), layout, floats(statistics[0]), floats(statistics[1]),
      floats(weight), floats(scratch), floats(coefficients[0]), floats(coefficients[1]),
      floats(coefficients[2]), floats(affine_parts), nullptr);
  REQUIRE_MESSAGE(error == nullptr, error);
  const auto affine_gradients = affine_parts.sum(1);
  r.grad_weight = affine_gradients[0];
  r.grad_bias = affine_gradients[1];
  r.grad_input = torch::full_like(x, std::numeric_limits<float>::quiet_NaN());
  error = split_affine(type, dy.data_ptr(), floats(coefficients[0]), x.data_ptr(),
                       floats(coefficients[1]), floats(coefficients[2]), layout,
                       r.grad_input.data_ptr(), nullptr);
  REQUIRE_MESSAGE(error == nullptr, error);
  return r;
}

bool same_bits(const torch::Tensor& a, const torch::Tensor& b) {
  return a.sizes() == b.sizes() && a.scalar_type() == b.scalar_type() && torch::equal(a, b);
}

void check_against_the_cpu(torch::ScalarType type) {
  struct example {
    std::vector<std::int64_t> shape;
    int splits;
  };
  // Two channel blocks with the second partly idle, few channels, one channel, many channels,
  // an odd count, and splits of 2,048 rows that each thread walks in steps of ten.
  const std::vector<example> examples = {{{16, 40, 2, 5, 5}, 4}, {{8, 3, 4, 6, 6}, 8},
                                         {{32, 1, 2, 4, 4}, 16}, {{4, 256, 1, 8, 8}, 2},
                                         {{6, 33, 3, 7, 7}, 3},  {{2, 24, 8, 16, 16}, 2}};
  const auto channels_last = torch::MemoryFormat::ChannelsLast3d;
  for (const auto& [shape, splits] : examples) {
    CAPTURE(splits);
    CAPTURE(shape[1]);
    torch::manual_seed(23);
    // A mean far from zero: the shifted moments must keep the variance.
    const auto x = (torch::randn(shape) * 2 + 20).to(type).contiguous(channels_last);
    const auto dy = torch::randn(shape).to(type).contiguous(channels_last);
    const auto weight = torch::rand({shape[1]}) + 0.5;
    const auto bias = torch::randn({shape[1]});

    cuda_emulation::order = cuda_emulation::thread_order::ascending;
    const auto ascending = run_kernels(x, dy, weight, bias, splits);
    cuda_emulation::order = cuda_emulation::thread_order::descending;
    const auto r = run_kernels(x, dy, weight, bias, splits);
    cuda_emulation::order = cuda_emulation::thread_order::ascending;
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
    const auto reference = multigrid::reference::split_batch_norm(
        input, reference_weight, reference_bias, reference_mean, reference_var, splits, 0.1, 1e-5);
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
