#include "model/stem.hpp"

#include "model/convolution.hpp"
#include "model/multiply_add_counter.hpp"
#include "model/spatial_strides.hpp"

namespace multigrid::reference {
namespace {
constexpr std::int64_t slow_stem_temporal_kernel = 1;
constexpr std::int64_t fast_stem_temporal_kernel = 5;
}  // namespace

ResNetBasicStemImpl::ResNetBasicStemImpl(std::int64_t in_channels, std::int64_t out_channels,
                                         std::int64_t temporal_kernel,
                                         const batch_norm_settings& norm) {
  conv =
      register_module("conv", make_conv3d(in_channels, out_channels, {temporal_kernel, 7, 7},
                                          {1, stem_conv_spatial_stride, stem_conv_spatial_stride},
                                          {temporal_kernel / 2, 3, 3}));
  bn = register_module("bn", SubBatchNorm3d(out_channels, norm));
  pool_layer = register_module(
      "pool_layer",
      torch::nn::MaxPool3d(torch::nn::MaxPool3dOptions({1, 3, 3})
                               .stride({1, stem_pool_spatial_stride, stem_pool_spatial_stride})
                               .padding({0, 1, 1})));
}

torch::Tensor ResNetBasicStemImpl::forward(const torch::Tensor& input) {
  auto x = bn(counted_forward(conv, input));
  x.relu_();
  return pool_layer(x);
}

VideoModelStemImpl::VideoModelStemImpl(std::int64_t in_channels, std::int64_t slow_channels,
                                       std::int64_t fast_channels,
                                       const batch_norm_settings& norm) {
  pathway0_stem =
      register_module("pathway0_stem",
                      ResNetBasicStem(in_channels, slow_channels, slow_stem_temporal_kernel, norm));
  pathway1_stem =
      register_module("pathway1_stem",
                      ResNetBasicStem(in_channels, fast_channels, fast_stem_temporal_kernel, norm));
}

pathway_tensors VideoModelStemImpl::forward(const pathway_tensors& input) {
  return {pathway0_stem(input.slow), pathway1_stem(input.fast)};
}

}  // namespace multigrid::reference
