#include "model/residual_block.hpp"

#include "model/convolution.hpp"
#include "model/multiply_add_counter.hpp"

namespace multigrid::reference {

BottleneckTransformImpl::BottleneckTransformImpl(const residual_block_shape& shape,
                                                 const batch_norm_settings& norm) {
  const auto t = shape.temporal_kernel;
  const auto s = shape.spatial_stride;
  a = register_module("a", make_conv3d(shape.in_channels, shape.inner_channels, {t, 1, 1},
                                       {1, 1, 1}, {t / 2, 0, 0}));
  a_bn = register_module("a_bn", SubBatchNorm3d(shape.inner_channels, norm));
  b = register_module("b", make_conv3d(shape.inner_channels, shape.inner_channels, {1, 3, 3},
                                       {1, s, s}, {0, 1, 1}, shape.groups));
  b_bn = register_module("b_bn", SubBatchNorm3d(shape.inner_channels, norm));
  c = register_module(
      "c", make_conv3d(shape.inner_channels, shape.out_channels, {1, 1, 1}, {1, 1, 1}, {0, 0, 0}));
  c_bn = register_module("c_bn", SubBatchNorm3d(shape.out_channels, norm));
}

torch::Tensor BottleneckTransformImpl::forward(const torch::Tensor& input) {
  auto x = a_bn(counted_forward(a, input));
  x.relu_();
  x = b_bn(counted_forward(b, x));
  x.relu_();
  return c_bn(counted_forward(c, x));
}

ResBlockImpl::ResBlockImpl(const residual_block_shape& shape, const batch_norm_settings& norm) {
  if (shape.in_channels != shape.out_channels || shape.spatial_stride != 1) {
    const auto s = shape.spatial_stride;
    branch1 = register_module("branch1", make_conv3d(shape.in_channels, shape.out_channels,
                                                     {1, 1, 1}, {1, s, s}, {0, 0, 0}));
    branch1_bn = register_module("branch1_bn", SubBatchNorm3d(shape.out_channels, norm));
  }
  branch2 = register_module("branch2", BottleneckTransform(shape, norm));
}

torch::Tensor ResBlockImpl::forward(const torch::Tensor& input) {
  auto residual = branch2(input);
  auto shortcut = branch1 ? branch1_bn(counted_forward(branch1, input)) : input;
  return torch::relu_(residual.add_(shortcut));
}

}  // namespace multigrid::reference
