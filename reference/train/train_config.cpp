#include "train/train_config.hpp"

#include <cmath>

#include "config/shared_readers.hpp"

namespace multigrid::reference {
namespace {

int read_at_least(const config_tree& tree, const key<int>& handle, int minimum) {
  const int value = tree.get(handle);
  if (value < minimum) tree.fail(handle, "must be at least " + std::to_string(minimum));
  return value;
}

double read_non_negative(const config_tree& tree, const key<double>& handle) {
  const double value = tree.get(handle);
  if (!(value >= 0) || !std::isfinite(value)) tree.fail(handle, "must be a finite number >= 0");
  return value;
}

train_section read_train_section(const config_tree& tree) {
  train_section train;
  train.enable = tree.get(keys::train_enable);
  train.dataset = tree.get(keys::train_dataset);
  train.eval_period = read_at_least(tree, keys::train_eval_period, 1);
  train.checkpoint_period = read_at_least(tree, keys::train_checkpoint_period, 1);
  train.keep_last_checkpoints = read_at_least(tree, keys::train_keep_last_checkpoints, 1);
  train.auto_resume = tree.get(keys::train_auto_resume);
  train.checkpoint_file_path = tree.get(keys::train_checkpoint_file_path);
  train.cuda_graphs = tree.get(keys::train_cuda_graphs);
  train.deterministic = tree.get(keys::train_deterministic);
  return train;
}

test_section read_test_section(const config_tree& tree, int processes) {
  test_section test;
  test.enable = tree.get(keys::test_enable);
  test.checkpoint_file_path = tree.get(keys::test_checkpoint_file_path);
  test.dataset = tree.get(keys::test_dataset);
  test.batch_size = read_at_least(tree, keys::test_batch_size, 1);
  if (test.batch_size % processes != 0) {
    tree.fail(keys::test_batch_size,
              "must be a multiple of the " + std::to_string(processes) + " processes (NUM_GPUS)");
  }
  test.num_ensemble_views = read_test_ensemble_views(tree);
  test.num_spatial_crops = read_test_spatial_crops(tree);
  return test;
}

optimizer_section read_optimizer_section(const config_tree& tree) {
  optimizer_section optimizer;
  optimizer.optimizing_method = tree.get(keys::solver_optimizing_method);
  if (optimizer.optimizing_method != "sgd") {
    tree.fail(keys::solver_optimizing_method,
              "is not supported; the reference trainer implements sgd only");
  }
  optimizer.momentum = read_non_negative(tree, keys::solver_momentum);
  optimizer.dampening = read_non_negative(tree, keys::solver_dampening);
  optimizer.nesterov = tree.get(keys::solver_nesterov);
  if (optimizer.nesterov && (optimizer.momentum <= 0 || optimizer.dampening != 0)) {
    // SGD's Nesterov update is defined for momentum > 0 without dampening only.
    tree.fail(keys::solver_nesterov, "needs SOLVER.MOMENTUM > 0 and SOLVER.DAMPENING 0 (they are " +
                                         std::to_string(optimizer.momentum) + " and " +
                                         std::to_string(optimizer.dampening) + ")");
  }
  optimizer.weight_decay = read_non_negative(tree, keys::solver_weight_decay);
  optimizer.batch_norm_weight_decay = read_non_negative(tree, keys::bn_weight_decay);
  return optimizer;
}

device_choice read_device(const config_tree& tree) {
  const auto name = tree.get(keys::device);
  if (name == "auto") return device_choice::automatic;
  if (name == "cpu") return device_choice::cpu;
  if (name == "cuda") return device_choice::cuda;
  tree.fail(keys::device, "must be auto, cpu or cuda");
}

distributed_backend read_backend(const config_tree& tree) {
  const auto name = tree.get(keys::dist_backend);
  if (name == "nccl") return distributed_backend::nccl;
  if (name == "gloo") return distributed_backend::gloo;
  tree.fail(keys::dist_backend, "must be nccl or gloo");
}

std::optional<split_batch_norm_method> read_sub_batch_computation(const config_tree& tree) {
  const auto name = tree.get(keys::bn_sub_batch_computation);
  if (name == "auto") return std::nullopt;
  try {
    return split_batch_norm_method_named(name);
  } catch (const std::invalid_argument&) {
    tree.fail(keys::bn_sub_batch_computation, "must be auto, " + split_batch_norm_method_choices());
  }
}

}  // namespace

train_config read_train_config(const config_tree& tree) {
  train_config cfg;
  cfg.num_gpus = tree.get(keys::num_gpus);
  if (cfg.num_gpus < 0) tree.fail(keys::num_gpus, "must be 0 (one CPU process) or more");
  cfg.train = read_train_section(tree);
  cfg.test = read_test_section(tree, cfg.processes());
  cfg.optimizer = read_optimizer_section(tree);

  cfg.precise_batch_norm.enabled = tree.get(keys::bn_use_precise_stats);
  cfg.precise_batch_norm.num_batches =
      read_at_least(tree, keys::bn_num_batches_precise, cfg.precise_batch_norm.enabled ? 1 : 0);

  cfg.data_loader.num_workers = read_at_least(tree, keys::data_loader_num_workers, 0);
  cfg.data_loader.pin_memory = tree.get(keys::data_loader_pin_memory);

  cfg.num_shards = tree.get(keys::num_shards);
  if (cfg.num_shards != 1) {
    // PySlowFast's TRAIN.BATCH_SIZE is per machine when NUM_SHARDS > 1; the schedule counts
    // every process in NUM_GPUS instead, so machines are not a separate count here.
    tree.fail(keys::num_shards,
              "must be 1: set NUM_GPUS to the total number of processes of the job");
  }
  cfg.shard_id = tree.get(keys::shard_id);
  if (cfg.shard_id != 0) tree.fail(keys::shard_id, "must be 0 (NUM_SHARDS is 1)");
  cfg.rng_seed = tree.get(keys::rng_seed);
  cfg.log_period = read_at_least(tree, keys::log_period, 1);
  cfg.output_dir = tree.get(keys::output_dir);
  if (cfg.output_dir.empty()) tree.fail(keys::output_dir, "must name a folder");
  cfg.backend = read_backend(tree);
  cfg.device = read_device(tree);
  cfg.sub_batch_computation = read_sub_batch_computation(tree);
  if (cfg.train.cuda_graphs && cfg.device == device_choice::cpu) {
    tree.fail(keys::train_cuda_graphs, "needs DEVICE cuda or auto; this run has DEVICE cpu");
  }
  cfg.distributed_timeout_seconds = tree.get(keys::dist_timeout_seconds);
  if (!(cfg.distributed_timeout_seconds > 0) || !std::isfinite(cfg.distributed_timeout_seconds)) {
    tree.fail(keys::dist_timeout_seconds, "must be a positive number of seconds");
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
