#include "train/train_config.hpp"

#include <cmath>

namespace multigrid::reference {
namespace {

// For checks across keys: the key may hold its default, which the message then names as such.
[[noreturn]] void fail_with_value(const config_tree& tree, const std::string& key,
                                  const std::string& value, const std::string& message) {
  if (tree.has(key)) tree.fail(key, message);
  throw config_error(key + " = " + value + " (default): " + message);
}

int read_at_least(const config_tree& tree, const std::string& key, int fallback, int minimum) {
  const int value = tree.get_int(key, fallback);
  if (value < minimum) tree.fail(key, "must be at least " + std::to_string(minimum));
  return value;
}

double read_non_negative(const config_tree& tree, const std::string& key, double fallback) {
  const double value = tree.get_double(key, fallback);
  if (!(value >= 0) || !std::isfinite(value)) tree.fail(key, "must be a finite number >= 0");
  return value;
}

train_section read_train_section(const config_tree& tree) {
  train_section train;
  train.enable = tree.get_bool("TRAIN.ENABLE", train.enable);
  train.dataset = tree.get_string("TRAIN.DATASET", train.dataset);
  train.eval_period = read_at_least(tree, "TRAIN.EVAL_PERIOD", train.eval_period, 1);
  train.checkpoint_period =
      read_at_least(tree, "TRAIN.CHECKPOINT_PERIOD", train.checkpoint_period, 1);
  train.keep_last_checkpoints =
      read_at_least(tree, "TRAIN.KEEP_LAST_CHECKPOINTS", train.keep_last_checkpoints, 1);
  train.auto_resume = tree.get_bool("TRAIN.AUTO_RESUME", train.auto_resume);
  train.checkpoint_file_path =
      tree.get_string("TRAIN.CHECKPOINT_FILE_PATH", train.checkpoint_file_path);
  train.cuda_graphs = tree.get_bool("TRAIN.CUDA_GRAPHS", train.cuda_graphs);
  train.deterministic = tree.get_bool("TRAIN.DETERMINISTIC", train.deterministic);
  return train;
}

test_section read_test_section(const config_tree& tree, int processes) {
  test_section test;
  test.enable = tree.get_bool("TEST.ENABLE", test.enable);
  test.dataset = tree.get_string("TEST.DATASET", test.dataset);
  test.batch_size = read_at_least(tree, "TEST.BATCH_SIZE", test.batch_size, 1);
  if (test.batch_size % processes != 0) {
    fail_with_value(
        tree, "TEST.BATCH_SIZE", std::to_string(test.batch_size),
        "must be a multiple of the " + std::to_string(processes) + " processes (NUM_GPUS)");
  }
  test.num_ensemble_views =
      read_at_least(tree, "TEST.NUM_ENSEMBLE_VIEWS", test.num_ensemble_views, 1);
  test.num_spatial_crops = tree.get_int("TEST.NUM_SPATIAL_CROPS", test.num_spatial_crops);
  if (test.num_spatial_crops != 1 && test.num_spatial_crops != 3) {
    tree.fail("TEST.NUM_SPATIAL_CROPS", "must be 1 (centre) or 3 (left, centre, right)");
  }
  return test;
}

optimizer_section read_optimizer_section(const config_tree& tree) {
  optimizer_section optimizer;
  optimizer.optimizing_method =
      tree.get_string("SOLVER.OPTIMIZING_METHOD", optimizer.optimizing_method);
  if (optimizer.optimizing_method != "sgd") {
    tree.fail("SOLVER.OPTIMIZING_METHOD",
              "is not supported; the reference trainer implements sgd only");
  }
  optimizer.momentum = read_non_negative(tree, "SOLVER.MOMENTUM", optimizer.momentum);
  optimizer.dampening = read_non_negative(tree, "SOLVER.DAMPENING", optimizer.dampening);
  optimizer.nesterov = tree.get_bool("SOLVER.NESTEROV", optimizer.nesterov);
  if (optimizer.nesterov && (optimizer.momentum <= 0 || optimizer.dampening != 0)) {
    // SGD's Nesterov update is defined for momentum > 0 without dampening only.
    fail_with_value(tree, "SOLVER.NESTEROV", "True",
                    "needs SOLVER.MOMENTUM > 0 and SOLVER.DAMPENING 0 (they are " +
                        std::to_string(optimizer.momentum) + " and " +
                        std::to_string(optimizer.dampening) + ")");
  }
  optimizer.weight_decay = read_non_negative(tree, "SOLVER.WEIGHT_DECAY", optimizer.weight_decay);
  optimizer.batch_norm_weight_decay =
      read_non_negative(tree, "BN.WEIGHT_DECAY", optimizer.batch_norm_weight_decay);
  return optimizer;
}

device_choice read_device(const config_tree& tree) {
  const auto name = tree.get_string("DEVICE", "auto");
  if (name == "auto") return device_choice::automatic;
  if (name == "cpu") return device_choice::cpu;
  if (name == "cuda") return device_choice::cuda;
  tree.fail("DEVICE", "must be auto, cpu or cuda");
}

distributed_backend read_backend(const config_tree& tree) {
  const auto name = tree.get_string("DIST_BACKEND", "nccl");
  if (name == "nccl") return distributed_backend::nccl;
  if (name == "gloo") return distributed_backend::gloo;
  tree.fail("DIST_BACKEND", "must be nccl or gloo");
}

}  // namespace

train_config read_train_config(const config_tree& tree) {
  train_config cfg;
  cfg.num_gpus = tree.get_int("NUM_GPUS", cfg.num_gpus);
  if (cfg.num_gpus < 0) tree.fail("NUM_GPUS", "must be 0 (one CPU process) or more");
  cfg.train = read_train_section(tree);
  cfg.test = read_test_section(tree, cfg.processes());
  cfg.optimizer = read_optimizer_section(tree);

  cfg.precise_batch_norm.enabled =
      tree.get_bool("BN.USE_PRECISE_STATS", cfg.precise_batch_norm.enabled);
  cfg.precise_batch_norm.num_batches =
      read_at_least(tree, "BN.NUM_BATCHES_PRECISE", cfg.precise_batch_norm.num_batches,
                    cfg.precise_batch_norm.enabled ? 1 : 0);

  cfg.data_loader.num_workers =
      read_at_least(tree, "DATA_LOADER.NUM_WORKERS", cfg.data_loader.num_workers, 0);
  cfg.data_loader.pin_memory = tree.get_bool("DATA_LOADER.PIN_MEMORY", cfg.data_loader.pin_memory);

  cfg.num_shards = tree.get_int("NUM_SHARDS", cfg.num_shards);
  if (cfg.num_shards != 1) {
    // PySlowFast's TRAIN.BATCH_SIZE is per machine when NUM_SHARDS > 1; the schedule counts
    // every process in NUM_GPUS instead, so machines are not a separate count here.
    tree.fail("NUM_SHARDS", "must be 1: set NUM_GPUS to the total number of processes of the job");
  }
  cfg.shard_id = tree.get_int("SHARD_ID", cfg.shard_id);
  if (cfg.shard_id != 0) tree.fail("SHARD_ID", "must be 0 (NUM_SHARDS is 1)");
  cfg.rng_seed = tree.get_int("RNG_SEED", cfg.rng_seed);
  cfg.log_period = read_at_least(tree, "LOG_PERIOD", cfg.log_period, 1);
  cfg.output_dir = tree.get_string("OUTPUT_DIR", cfg.output_dir);
  if (cfg.output_dir.empty()) tree.fail("OUTPUT_DIR", "must name a folder");
  cfg.backend = read_backend(tree);
  cfg.device = read_device(tree);
  if (cfg.train.cuda_graphs && cfg.device == device_choice::cpu) {
    tree.fail("TRAIN.CUDA_GRAPHS", "needs DEVICE cuda or auto; this run has DEVICE cpu");
  }
  cfg.distributed_timeout_seconds =
      tree.get_double("DIST_TIMEOUT_SECONDS", cfg.distributed_timeout_seconds);
  if (!(cfg.distributed_timeout_seconds > 0) || !std::isfinite(cfg.distributed_timeout_seconds)) {
    tree.fail("DIST_TIMEOUT_SECONDS", "must be a positive number of seconds");
  }
  return cfg;
}

std::string device_choice_name(device_choice choice) {
  switch (choice) {
    case device_choice::automatic:
      return "auto";
    case device_choice::cpu:
      return "cpu";
    case device_choice::cuda:
      return "cuda";
  }
  return "auto";
}

std::string distributed_backend_name(distributed_backend backend) {
  return backend == distributed_backend::gloo ? "gloo" : "nccl";
}

}  // namespace multigrid::reference
