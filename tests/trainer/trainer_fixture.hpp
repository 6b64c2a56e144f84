#pragma once
// What the trainer's tests share: one small motion dataset per test process, and a config for a
// narrow SlowFast that trains in seconds on one core.

#include <filesystem>
#include <mutex>
#include <string>
#include <vector>

#include "config/config_tree.hpp"
#include "data/synthetic_dataset.hpp"
#include "support/run_process.hpp"

namespace multigrid::testing {

/// 4 classes x 32 training videos (and 4 validation, 4 test), 64x48, 1 s; written once.
inline const std::string& small_motion_dataset() {
  static temporary_directory directory;
  static std::once_flag written;
  std::call_once(written, [] {
    reference::synthetic_dataset_options options;
    options.root = directory.path();
    options.classes = 4;
    options.train_per_class = 32;
    options.val_per_class = 4;
    options.test_per_class = 4;
    options.seconds = 1;
    options.seed = 11;
    options.jobs = 2;
    options.preset = "ultrafast";
    reference::make_synthetic_dataset(options);
  });
  return directory.path();
}

/// The base config of the tests; `output_dir` is the run's OUTPUT_DIR.
inline std::string small_run_config(const std::string& output_dir) {
  return "TRAIN:\n  BATCH_SIZE: 4\n  EVAL_PERIOD: 1\n  CHECKPOINT_PERIOD: 1\n"
         "DATA:\n  PATH_TO_DATA_DIR: " +
         small_motion_dataset() +
         "\n  NUM_FRAMES: 8\n  SAMPLING_RATE: 2\n  TRAIN_JITTER_SCALES: [32, 40]\n"
         "  TRAIN_CROP_SIZE: 32\n  TEST_CROP_SIZE: 32\n  RANDOM_FLIP: False\n"
         "SLOWFAST:\n  ALPHA: 2\n  BETA_INV: 4\n  FUSION_KERNEL_SZ: 3\n"
         "RESNET:\n  WIDTH_PER_GROUP: 8\n"
         "MODEL:\n  NUM_CLASSES: 4\n  DROPOUT_RATE: 0.0\n"
         "BN:\n  USE_PRECISE_STATS: False\n"
         "MULTIGRID:\n  BN_BASE_SIZE: 4\n"
         "SOLVER:\n  BASE_LR: 0.05\n  LR_POLICY: steps_with_relative_lrs\n  STEPS: [0]\n  LRS: "
         "[1]\n"
         "  MAX_EPOCH: 2\n  WARMUP_EPOCHS: 0.0\n"
         "TEST:\n  BATCH_SIZE: 8\n  NUM_ENSEMBLE_VIEWS: 2\n  NUM_SPATIAL_CROPS: 1\n"
         "DATA_LOADER:\n  NUM_WORKERS: 2\n"
         "NUM_GPUS: 1\nRNG_SEED: 3\nLOG_PERIOD: 1000\nLOG_MODEL_INFO: False\n"
         "OUTPUT_DIR: " +
         output_dir + "\n";
}

inline reference::config_tree small_run_tree(const std::string& output_dir,
                                             const std::vector<std::string>& overrides = {}) {
  auto tree = reference::config_tree::load_string(small_run_config(output_dir), "test config");
  tree.apply_overrides(overrides);
  return tree;
}

}  // namespace multigrid::testing
