#include "model/multiply_add_counter.hpp"

namespace multigrid::reference {
namespace {

thread_local multiply_add_counter* active_counter = nullptr;

// Elements of one sample of a batched output (N, ...).
std::int64_t sample_elements(const torch::Tensor& output) {
  std::int64_t elements = 1;
  for (std::int64_t d = 1; d < output.dim(); ++d) elements *= output.size(d);
  return elements;
}

}  // namespace

multiply_add_counter::multiply_add_counter() : outer_(active_counter) {
  active_counter = this;
}

multiply_add_counter::~multiply_add_counter() {
  active_counter = outer_;
}

torch::Tensor counted_forward(torch::nn::Conv3d& conv, const torch::Tensor& input) {
  auto output = conv->forward(input);
  if (active_counter != nullptr) {
    const auto& options = conv->options;
    const auto& kernel = *options.kernel_size();
    const std::int64_t per_output =
        options.in_channels() / options.groups() * kernel[0] * kernel[1] * kernel[2];
    active_counter->add(sample_elements(output) * per_output);
  }
  return output;
}

torch::Tensor counted_forward(torch::nn::Linear& linear, const torch::Tensor& input) {
  auto output = linear->forward(input);
  if (active_counter != nullptr)
    active_counter->add(sample_elements(output) * linear->options.in_features());
  return output;
}

}  // namespace multigrid::reference
