#include "model/head.hpp"

#include "model/multiply_add_counter.hpp"

namespace multigrid::reference {

ResNetBasicHeadImpl::ResNetBasicHeadImpl(std::int64_t slow_channels, std::int64_t fast_channels,
                                         std::int64_t num_classes, double dropout_rate) {
  if (dropout_rate > 0) dropout = register_module("dropout", torch::nn::Dropout(dropout_rate));
  projection = register_module("projection", torch::nn::Linear(torch::nn::LinearOptions(
                                                 slow_channels + fast_channels, num_classes)));
}

torch::Tensor ResNetBasicHeadImpl::forward(const pathway_tensors& input) {
  // Adaptive average pooling to 1 x 1 x 1, written as the mean it is.
  auto pooled = torch::cat({input.slow.mean({2, 3, 4}), input.fast.mean({2, 3, 4})}, 1);
  if (dropout) pooled = dropout(pooled);
  return counted_forward(projection, pooled);
}

}  // namespace multigrid::reference
