#pragma once
// The configurations the tests share: PySlowFast's published multigrid configs.

#include <multigrid/config.hpp>

namespace multigrid::testing {

/// configs/Kinetics/SLOWFAST_8x8_R50_stepwise_multigrid.yaml
inline config kinetics_slowfast_multigrid() {
  config cfg;
  cfg.num_gpus = 8;
  cfg.batch_size = 64;
  cfg.data.num_frames = 32;
  cfg.data.sampling_rate = 2;
  cfg.data.train_crop_size = 224;
  cfg.data.train_jitter_scales = {256, 320};
  cfg.solver.base_lr = 0.1;
  cfg.solver.policy = lr_policy::steps_with_relative_lrs;
  cfg.solver.lrs = {1, 0.1, 0.01, 0.001, 0.0001, 0.00001};
  cfg.solver.steps = {0, 94, 154, 196};
  cfg.solver.max_epoch = 239;
  cfg.solver.warmup_epochs = 34.0;
  cfg.solver.warmup_start_lr = 0.01;
  cfg.multigrid.long_cycle = true;
  cfg.multigrid.short_cycle = true;
  return cfg;
}

/// configs/SSv2/SLOWFAST_16x8_R50_multigrid.yaml
inline config ssv2_slowfast_multigrid() {
  config cfg;
  cfg.num_gpus = 8;
  cfg.batch_size = 16;
  cfg.data.num_frames = 64;
  cfg.data.sampling_rate = 2;
  cfg.data.train_crop_size = 224;
  cfg.data.train_jitter_scales = {256, 320};
  cfg.solver.base_lr = 0.03;
  cfg.solver.policy = lr_policy::steps_with_relative_lrs;
  cfg.solver.lrs = {1, 0.1, 0.01, 0.001, 0.0001, 0.00001};
  cfg.solver.steps = {0, 14, 18};
  cfg.solver.max_epoch = 22;
  cfg.solver.warmup_epochs = 0.19;
  cfg.solver.warmup_start_lr = 0.0001;
  cfg.multigrid.long_cycle = true;
  cfg.multigrid.short_cycle = true;
  return cfg;
}

/// configs/Charades/SLOWFAST_16x8_R50_multigrid.yaml
inline config charades_slowfast_multigrid() {
  config cfg = ssv2_slowfast_multigrid();
  cfg.data.train_jitter_scales = {256, 340};
  cfg.solver.base_lr = 0.0375;
  cfg.solver.steps = {0, 41, 49};
  cfg.solver.max_epoch = 57;
  cfg.solver.warmup_epochs = 4.0;
  return cfg;
}

}  // namespace multigrid::testing
