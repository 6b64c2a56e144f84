#include "train/run_config.hpp"

#include <multigrid/epoch_schedule.hpp>

#include "config/schedule_config.hpp"

namespace multigrid::reference {
namespace {

void add_model_keys(resolved_config& resolved, const slowfast_options& model) {
  resolved.set("MODEL.NUM_CLASSES", model.num_classes);
  resolved.set("MODEL.DROPOUT_RATE", model.dropout_rate);
  resolved.set("MODEL.FC_INIT_STD", model.fc_init_std);
  resolved.set("RESNET.DEPTH", model.depth);
  resolved.set("RESNET.NUM_GROUPS", model.num_groups);
  resolved.set("RESNET.WIDTH_PER_GROUP", model.width_per_group);
  resolved.set("RESNET.ZERO_INIT_FINAL_BN", model.zero_init_final_bn);
  std::vector<std::vector<double>> temporal_kernels;
  for (const auto& stage : model.blocks_with_temporal_kernel) {
    temporal_kernels.push_back({static_cast<double>(stage[0]), static_cast<double>(stage[1])});
  }
  resolved.set("RESNET.NUM_BLOCK_TEMP_KERNEL", temporal_kernels);
  resolved.set("SLOWFAST.ALPHA", model.alpha);
  resolved.set("SLOWFAST.BETA_INV", model.beta_inv);
  resolved.set("SLOWFAST.FUSION_CONV_CHANNEL_RATIO", model.fusion_conv_channel_ratio);
  resolved.set("SLOWFAST.FUSION_KERNEL_SZ", model.fusion_kernel_size);
  resolved.set("BN.EPS", model.batch_norm_epsilon);
  resolved.set("BN.MOMENTUM", model.batch_norm_momentum);
}

void add_data_keys(resolved_config& resolved, const data_config& data) {
  resolved.set("DATA.PATH_TO_DATA_DIR", data.path_to_data_dir);
  resolved.set("DATA.PATH_PREFIX", data.path_prefix);
  resolved.set("DATA.PATH_LABEL_SEPARATOR", data.path_label_separator);
  resolved.set("DATA.TARGET_FPS", data.target_fps);
  resolved.set("DATA.TEST_CROP_SIZE", data.test_crop_size);
  resolved.set("DATA.MEAN", std::vector<double>(data.mean.begin(), data.mean.end()));
  resolved.set("DATA.STD", std::vector<double>(data.std.begin(), data.std.end()));
  resolved.set("DATA.RANDOM_FLIP", data.random_flip);
  resolved.set("DATA.INV_UNIFORM_SAMPLE", data.inverse_uniform_sample);
  resolved.set("DATA.TRAIN_CROP_NUM_TEMPORAL", data.train_crop_num_temporal);
  resolved.set("DATA.TRAIN_CROP_NUM_SPATIAL", data.train_crop_num_spatial);
  resolved.set("DATA.MAX_FAILURE_SHARE", data.max_failure_share);
  resolved.set("DATA.DECODE_TIMEOUT", data.decode_timeout);
}

}  // namespace

run_config read_run_config(const config_tree& tree) {
  run_config config{read_schedule_config(tree), read_train_config(tree), read_data_config(tree),
                    read_slowfast_options(tree), tree.get_bool("LOG_MODEL_INFO", true),
                    resolved_config(tree)};
  check_schedule_config(tree, config.schedule);
  if (config.train.num_gpus != config.schedule.num_gpus) {
    tree.fail("NUM_GPUS", "read differently by the schedule and the trainer");
  }
  if (config.model.num_frames % config.model.alpha != 0) {
    tree.fail("DATA.NUM_FRAMES", "must be a multiple of SLOWFAST.ALPHA (" +
                                     std::to_string(config.model.alpha) + ")");
  }
  for (const auto& stage : multigrid::make_epoch_schedule(config.schedule).stages) {
    if (stage.num_frames % config.model.alpha != 0) {
      tree.fail("MULTIGRID.LONG_CYCLE_FACTORS",
                "gives clips of " + std::to_string(stage.num_frames) +
                    " frames, not a multiple of SLOWFAST.ALPHA (" + std::to_string(config.model.alpha) + ")");
    }
  }
  add_schedule_keys(config.resolved, config.schedule);
  add_train_keys(config.resolved, config.train);
  add_data_keys(config.resolved, config.data);
  add_model_keys(config.resolved, config.model);
  config.resolved.set("LOG_MODEL_INFO", config.log_model_info);
  return config;
}

}  // namespace multigrid::reference
