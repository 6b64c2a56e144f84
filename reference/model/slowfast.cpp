#include "model/slowfast.hpp"

#include <sstream>
#include <stdexcept>

#include "model/slow_pathway_frames.hpp"
#include "model/spatial_strides.hpp"
#include "model/weight_init.hpp"

namespace multigrid::reference {
namespace {

// Temporal kernel of the stem and of conv a in res2..res5, per pathway (slow, fast):
// PySlowFast's _TEMPORAL_KERNEL_BASIS["slowfast"]. The stem's (1, 5) is in stem.cpp.
constexpr std::array<std::array<std::int64_t, 2>, 4> residual_temporal_kernels{
    {{1, 3}, {1, 3}, {3, 3}, {3, 3}}};

}  // namespace

SlowFastImpl::SlowFastImpl(const slowfast_options& options) : options_(options) {
  validate(options_);
  const batch_norm_settings norm{options_.batch_norm_epsilon, options_.batch_norm_momentum};
  const std::int64_t width = options_.width_per_group;
  const std::int64_t inner = options_.num_groups * width;
  const std::int64_t beta_inv = options_.beta_inv;
  const std::int64_t ratio = options_.fusion_conv_channel_ratio;
  const auto fuse = [&](std::int64_t fast_channels) {
    return FuseFastToSlow(fast_channels, ratio, options_.fusion_kernel_size, options_.alpha, norm);
  };

  s1 =
      register_module("s1", VideoModelStem(options_.input_channels, width, width / beta_inv, norm));
  s1_fuse = register_module("s1_fuse", fuse(width / beta_inv));

  // Stage i (res2..res5) has 4 * 2^i * width output channels; its slow input also carries the
  // fused fast features (ratio times the fast channels).
  const auto blocks = options_.blocks_per_stage();
  std::array<std::int64_t, 2> in_channels{width + width / beta_inv * ratio, width / beta_inv};
  ResStage* stages[] = {&s2, &s3, &s4, &s5};
  FuseFastToSlow* fusions[] = {&s2_fuse, &s3_fuse, &s4_fuse};
  for (std::size_t i = 0; i < 4; ++i) {
    const std::int64_t scale = std::int64_t{1} << i;
    residual_stage_shape shape;
    shape.in_channels = in_channels;
    shape.out_channels = {4 * scale * width, 4 * scale * width / beta_inv};
    shape.inner_channels = {scale * inner, scale * inner / beta_inv};
    shape.temporal_kernel = residual_temporal_kernels[i];
    shape.blocks_with_temporal_kernel = options_.blocks_with_temporal_kernel[i];
    shape.blocks = blocks[i];
    shape.spatial_stride = residual_spatial_strides[i];
    shape.groups = options_.num_groups;
    *stages[i] = register_module("s" + std::to_string(i + 2), ResStage(shape, norm));
    // PySlowFast's pathway pools after res2 have kernel 1 for SlowFast: identities, left out.
    if (i < 3) {
      *fusions[i] =
          register_module("s" + std::to_string(i + 2) + "_fuse", fuse(shape.out_channels[1]));
      in_channels = {shape.out_channels[0] + shape.out_channels[1] * ratio, shape.out_channels[1]};
    } else {
      head = register_module("head", ResNetBasicHead(shape.out_channels[0], shape.out_channels[1],
                                                     options_.num_classes, options_.dropout_rate));
    }
  }

  for (const auto& item : named_modules("", /*include_self=*/false)) {
    if (auto layer = std::dynamic_pointer_cast<SubBatchNorm3dImpl>(item.value())) {
      layer->set_name(item.key());
      norm_layers_.emplace_back(layer);
    }
  }
  initialize_weights(*this, options_.fc_init_std, options_.zero_init_final_bn);
}

void SlowFastImpl::check_input(const torch::Tensor& fast_clip) const {
  if (fast_clip.dim() != 5 || fast_clip.size(1) != options_.input_channels ||
      fast_clip.size(2) / options_.alpha < 1) {
    std::ostringstream message;
    message << "SlowFast: expected a fast-pathway clip (N, " << options_.input_channels
            << ", T, H, W) with T >= ALPHA = " << options_.alpha << ", got " << fast_clip.sizes();
    throw std::invalid_argument(message.str());
  }
}

const torch::Tensor& SlowFastImpl::slow_frame_indices(std::int64_t fast_frames,
                                                      const torch::Device& device) {
  for (const auto& entry : index_cache_) {
    if (entry.fast_frames == fast_frames && entry.device == device) return entry.indices;
  }
  // The first step at a frame count copies the indices to the device; later ones (and a
  // captured CUDA graph) reuse them.
  index_cache_.push_back(
      {fast_frames, device, slow_pathway_frame_indices(fast_frames, options_.alpha).to(device)});
  return index_cache_.back().indices;
}

torch::Tensor SlowFastImpl::forward(const torch::Tensor& fast_clip) {
  check_input(fast_clip);
  auto slow = fast_clip.index_select(2, slow_frame_indices(fast_clip.size(2), fast_clip.device()))
                  .contiguous(fast_clip.suggest_memory_format());
  pathway_tensors x{slow, fast_clip};
  x = s1_fuse(s1(x));
  x = s2_fuse(s2(x));
  x = s3_fuse(s3(x));
  x = s4_fuse(s4(x));
  return head(s5(x));
}

void SlowFastImpl::set_batch_norm_mode(const multigrid::batch_norm_mode& mode,
                                       std::shared_ptr<batch_norm_synchronizer> synchronizer) {
  switch (mode.type) {
    case multigrid::batch_norm_type::plain:
      for (auto& layer : norm_layers_) layer->set_plain();
      break;
    case multigrid::batch_norm_type::sub_batch:
      if (mode.splits < 1) {
        throw std::invalid_argument("sub-batch BN needs at least 1 split, not " +
                                    std::to_string(mode.splits));
      }
      for (auto& layer : norm_layers_) layer->set_splits(mode.splits);
      break;
    case multigrid::batch_norm_type::synchronized:
      if (!synchronizer) {
        throw std::invalid_argument("synchronized BN over " + std::to_string(mode.sync_devices) +
                                    " devices needs a batch_norm_synchronizer");
      }
      if (synchronizer->group_size() != mode.sync_devices) {
        throw std::invalid_argument("synchronized BN over " + std::to_string(mode.sync_devices) +
                                    " devices was given a synchronizer whose group has " +
                                    std::to_string(synchronizer->group_size()) + " processes");
      }
      for (auto& layer : norm_layers_) layer->set_synchronizer(synchronizer);
      break;
  }
  mode_ = mode;
}

void SlowFastImpl::pool_batch_norm_statistics() {
  for (auto& layer : norm_layers_) layer->pool_statistics();
}

}  // namespace multigrid::reference
