#pragma once
// What the SlowFast model is built from: PySlowFast's MODEL, RESNET, SLOWFAST, BN and DATA keys.
// The struct's defaults are SlowFast-R50 8x8 as the published Kinetics configs build it; reading a
// configuration instead falls back to PySlowFast's defaults.py for keys the file leaves out
// (notably ALPHA 8 and FUSION_KERNEL_SZ 5, and no zero-initialised final BN).

#include <array>
#include <string>
#include <vector>

#include "config/config_tree.hpp"

namespace multigrid::reference {

struct slowfast_options {
  int depth = 50;                     ///< RESNET.DEPTH: 50 or 101
  int num_groups = 1;                 ///< RESNET.NUM_GROUPS (ResNeXt cardinality)
  int width_per_group = 64;           ///< RESNET.WIDTH_PER_GROUP
  int alpha = 4;                      ///< SLOWFAST.ALPHA: fast frames per slow frame
  int beta_inv = 8;                   ///< SLOWFAST.BETA_INV: slow channels per fast channel
  int fusion_conv_channel_ratio = 2;  ///< SLOWFAST.FUSION_CONV_CHANNEL_RATIO
  int fusion_kernel_size = 7;         ///< SLOWFAST.FUSION_KERNEL_SZ (temporal)
  int num_classes = 400;              ///< MODEL.NUM_CLASSES
  double dropout_rate = 0.5;          ///< MODEL.DROPOUT_RATE
  double fc_init_std = 0.01;          ///< MODEL.FC_INIT_STD
  bool zero_init_final_bn = true;     ///< RESNET.ZERO_INIT_FINAL_BN
  double batch_norm_epsilon = 1e-5;   ///< BN.EPS
  double batch_norm_momentum = 0.1;   ///< BN.MOMENTUM (PyTorch's convention)
  int input_channels = 3;             ///< DATA.INPUT_CHANNEL_NUM (both pathways)
  /// RESNET.NUM_BLOCK_TEMP_KERNEL: per residual stage and pathway (slow, fast), how many of the
  /// stage's first blocks use the stage's temporal kernel; the remaining blocks use 1.
  std::array<std::array<int, 2>, 4> blocks_with_temporal_kernel{{{3, 3}, {4, 4}, {6, 6}, {3, 3}}};
  int num_frames = 32;  ///< DATA.NUM_FRAMES: fast-pathway frames of the base clip
  int crop_size = 224;  ///< DATA.TRAIN_CROP_SIZE

  /// Residual blocks per stage (res2..res5) for the depth.
  std::array<int, 4> blocks_per_stage() const;
  /// Channels of the fast pathway's stem: width_per_group / beta_inv.
  int fast_width() const { return width_per_group / beta_inv; }
};

/// Reads the model keys from a PySlowFast-style configuration and validates them; errors name the
/// key, its value and where it was written.
slowfast_options read_slowfast_options(const config_tree& tree);

/// Checks options built in code; throws std::invalid_argument naming the field and its value.
void validate(const slowfast_options& options);

}  // namespace multigrid::reference
