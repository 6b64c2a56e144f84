#pragma once
// The keys the trainer reads besides the schedule's (config/schedule_config.hpp reads those), with
// PySlowFast's defaults (slowfast/config/defaults.py) and a few of our own. docs/training.md lists
// every key. A value the trainer cannot honour is a config_error naming the key and the value.

#include <optional>
#include <string>

#include "config/config_tree.hpp"
#include "model/split_batch_norm_method.hpp"

namespace multigrid::reference {

/// DEVICE: where the model trains. `automatic` picks CUDA when a device is present.
enum class device_choice { automatic, cpu, cuda };

/// DIST_BACKEND. PySlowFast's default `nccl` means "NCCL where the model is on CUDA": NCCL cannot
/// run on CPU tensors, so a CPU run uses Gloo whatever this says; `gloo` forces Gloo on CUDA too.
enum class distributed_backend { nccl, gloo };

struct train_section {
  bool enable = true;                ///< TRAIN.ENABLE
  std::string dataset = "kinetics";  ///< TRAIN.DATASET, handed to the loader
  int eval_period = 10;              ///< TRAIN.EVAL_PERIOD, epochs between evaluations
  int checkpoint_period = 10;        ///< TRAIN.CHECKPOINT_PERIOD, epochs whose checkpoint is kept
  int keep_last_checkpoints = 2;     ///< TRAIN.KEEP_LAST_CHECKPOINTS (ours): rotating ones kept
  bool auto_resume = true;           ///< TRAIN.AUTO_RESUME
  std::string checkpoint_file_path;  ///< TRAIN.CHECKPOINT_FILE_PATH: initial weights
  bool cuda_graphs = false;          ///< TRAIN.CUDA_GRAPHS (ours): one graph per shape
  bool deterministic = false;        ///< TRAIN.DETERMINISTIC (ours): reproducible kernels
};

struct test_section {
  bool enable = true;                ///< TEST.ENABLE
  std::string checkpoint_file_path;  ///< TEST.CHECKPOINT_FILE_PATH: weights to test alone
  std::string dataset = "kinetics";  ///< TEST.DATASET
  int batch_size = 8;                ///< TEST.BATCH_SIZE, global
  int num_ensemble_views = 10;       ///< TEST.NUM_ENSEMBLE_VIEWS, clips per video
  int num_spatial_crops = 3;         ///< TEST.NUM_SPATIAL_CROPS, crops per clip
};

struct optimizer_section {
  std::string optimizing_method = "sgd";  ///< SOLVER.OPTIMIZING_METHOD; only sgd
  double momentum = 0.9;                  ///< SOLVER.MOMENTUM
  double dampening = 0.0;                 ///< SOLVER.DAMPENING
  bool nesterov = true;                   ///< SOLVER.NESTEROV
  double weight_decay = 1e-4;             ///< SOLVER.WEIGHT_DECAY, every parameter but BN's
  double batch_norm_weight_decay = 0.0;   ///< BN.WEIGHT_DECAY, BN's gamma and beta
};

struct precise_batch_norm_section {
  bool enabled = false;   ///< BN.USE_PRECISE_STATS
  int num_batches = 200;  ///< BN.NUM_BATCHES_PRECISE
};

struct data_loader_section {
  int num_workers = 8;     ///< DATA_LOADER.NUM_WORKERS
  bool pin_memory = true;  ///< DATA_LOADER.PIN_MEMORY
};

struct train_config {
  train_section train;
  test_section test;
  optimizer_section optimizer;
  precise_batch_norm_section precise_batch_norm;
  data_loader_section data_loader;
  int num_gpus =
      1;  ///< NUM_GPUS: processes in the job (0: one CPU process); the schedule reads it too
  int num_shards = 1;            ///< NUM_SHARDS: must be 1, see docs/training.md
  int shard_id = 0;              ///< SHARD_ID
  int rng_seed = 1;              ///< RNG_SEED
  int log_period = 10;           ///< LOG_PERIOD, iterations between log lines
  std::string output_dir = ".";  ///< OUTPUT_DIR
  distributed_backend backend = distributed_backend::nccl;  ///< DIST_BACKEND
  device_choice device = device_choice::automatic;          ///< DEVICE (ours)
  /// BN.SUB_BATCH_COMPUTATION (ours); none: each device's default.
  std::optional<split_batch_norm_method> sub_batch_computation;
  double distributed_timeout_seconds = 600;  ///< DIST_TIMEOUT_SECONDS (ours)

  /// Processes the job runs: NUM_GPUS, or one for PySlowFast's CPU mode (NUM_GPUS 0).
  int processes() const noexcept { return num_gpus > 0 ? num_gpus : 1; }
};

/// Reads and checks the trainer's keys; throws config_error naming the key, value and origin.
train_config read_train_config(const config_tree& tree);

std::string device_choice_name(device_choice choice);
std::string distributed_backend_name(distributed_backend backend);

}  // namespace multigrid::reference
