#include "model/fusion.hpp"

#include <sstream>
#include <stdexcept>

#include "model/convolution.hpp"
#include "model/multiply_add_counter.hpp"

namespace multigrid::reference {

FuseFastToSlowImpl::FuseFastToSlowImpl(std::int64_t fast_channels, std::int64_t channel_ratio,
                                       std::int64_t temporal_kernel, std::int64_t alpha,
                                       const batch_norm_settings& norm) {
  const auto out_channels = fast_channels * channel_ratio;
  conv_f2s =
      register_module("conv_f2s", make_conv3d(fast_channels, out_channels, {temporal_kernel, 1, 1},
                                              {alpha, 1, 1}, {temporal_kernel / 2, 0, 0}));
  bn = register_module("bn", SubBatchNorm3d(out_channels, norm));
}

pathway_tensors FuseFastToSlowImpl::forward(const pathway_tensors& input) {
  auto fused = bn(counted_forward(conv_f2s, input.fast));
  fused.relu_();
  if (fused.sizes().slice(2) != input.slow.sizes().slice(2)) {
    // The strided fast frames must line up with the slow frames: T / alpha with T % alpha == 0.
    std::ostringstream message;
    message << "SlowFast fusion: fast features " << input.fast.sizes() << " become "
            << fused.sizes() << " at the slow rate, which does not match the slow "
            << "pathway's " << input.slow.sizes() << "; the clip's frame count must be a "
            << "multiple of ALPHA";
    throw std::invalid_argument(message.str());
  }
  return {torch::cat({input.slow, fused}, 1), input.fast};
}

}  // namespace multigrid::reference
