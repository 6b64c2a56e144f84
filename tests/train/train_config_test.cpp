#include "train/train_config.hpp"

#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "config/schedule_config.hpp"
#include "tools/cli_support.hpp"
#include "train/resolved_config.hpp"

using namespace multigrid::reference;

namespace {

config_tree tree_of(const std::string& yaml, const std::vector<std::string>& overrides = {}) {
  auto tree = config_tree::load_string(yaml, "run.yaml");
  // config_tree::set cannot yet create a section the file lacks ("invalid node"), so the sections
  // the overrides address are made present first.
  for (std::size_t i = 0; i < overrides.size(); i += 2) {
    const auto dot = overrides[i].find('.');
    if (dot != std::string::npos && !tree.has(overrides[i].substr(0, dot))) {
      tree.set(overrides[i].substr(0, dot), YAML::Node(YAML::NodeType::Map), "run.yaml");
    }
  }
  tree.apply_overrides(overrides);
  return tree;
}

// The message of the config_error reading `yaml` raises.
std::string error_of(const std::string& yaml, const std::vector<std::string>& overrides = {}) {
  try {
    read_train_config(tree_of(yaml, overrides));
  } catch (const config_error& error) {
    return error.what();
  }
  return "no error";
}

}  // namespace

TEST_CASE("an empty config gives PySlowFast's defaults") {
  const auto cfg = read_train_config(tree_of(""));
  CHECK(cfg.train.enable);
  CHECK(cfg.train.dataset == "kinetics");
  CHECK(cfg.train.eval_period == 10);
  CHECK(cfg.train.checkpoint_period == 10);
  CHECK(cfg.train.auto_resume);
  CHECK(cfg.train.checkpoint_file_path.empty());
  CHECK(cfg.test.enable);
  CHECK(cfg.test.batch_size == 8);
  CHECK(cfg.test.num_ensemble_views == 10);
  CHECK(cfg.test.num_spatial_crops == 3);
  CHECK(cfg.optimizer.optimizing_method == "sgd");
  CHECK(cfg.optimizer.momentum == 0.9);
  CHECK(cfg.optimizer.dampening == 0.0);
  CHECK(cfg.optimizer.nesterov);
  CHECK(cfg.optimizer.weight_decay == 1e-4);
  CHECK(cfg.optimizer.batch_norm_weight_decay == 0.0);
  CHECK_FALSE(cfg.precise_batch_norm.enabled);
  CHECK(cfg.precise_batch_norm.num_batches == 200);
  CHECK(cfg.data_loader.num_workers == 8);
  CHECK(cfg.data_loader.pin_memory);
  CHECK(cfg.num_gpus == 1);
  CHECK(cfg.num_shards == 1);
  CHECK(cfg.shard_id == 0);
  CHECK(cfg.rng_seed == 1);
  CHECK(cfg.log_period == 10);
  CHECK(cfg.output_dir == ".");
  CHECK(cfg.backend == distributed_backend::nccl);
  CHECK(cfg.device == device_choice::automatic);
  CHECK_FALSE(cfg.sub_batch_computation.has_value());
  CHECK_FALSE(cfg.train.cuda_graphs);
  CHECK_FALSE(cfg.train.deterministic);
  CHECK(cfg.distributed_timeout_seconds == 600);
  CHECK(cfg.processes() == 1);
}

TEST_CASE("file values and command-line overrides are read") {
  const auto cfg = read_train_config(tree_of(
      "TRAIN:\n  EVAL_PERIOD: 3\n  CUDA_GRAPHS: True\nSOLVER:\n  MOMENTUM: 0.8\n  NESTEROV: False\n"
      "NUM_GPUS: 4\nTEST:\n  BATCH_SIZE: 16\n",
      {"DEVICE", "cuda", "OUTPUT_DIR", "/tmp/run", "DIST_TIMEOUT_SECONDS", "30", "BN.WEIGHT_DECAY",
       "0.001", "DIST_BACKEND", "gloo", "NUM_GPUS", "0", "BN.SUB_BATCH_COMPUTATION", "batched"}));
  CHECK(cfg.train.eval_period == 3);
  CHECK(cfg.train.cuda_graphs);
  CHECK(cfg.optimizer.momentum == 0.8);
  CHECK_FALSE(cfg.optimizer.nesterov);
  CHECK(cfg.device == device_choice::cuda);
  CHECK(cfg.output_dir == "/tmp/run");
  CHECK(cfg.distributed_timeout_seconds == 30);
  CHECK(cfg.optimizer.batch_norm_weight_decay == 0.001);
  CHECK(cfg.backend == distributed_backend::gloo);
  CHECK(cfg.sub_batch_computation == split_batch_norm_method::batched);
  CHECK(cfg.num_gpus == 0);
  CHECK(cfg.processes() == 1);
}

TEST_CASE("every unsupported value is an error naming key, value and origin") {
  struct bad_case {
    std::string yaml;
    std::vector<std::string> overrides;
    std::string expected;
  };
  const std::vector<bad_case> cases = {
      {"SOLVER:\n  OPTIMIZING_METHOD: adam\n", {}, "run.yaml:2: SOLVER.OPTIMIZING_METHOD = adam"},
      {"", {"SOLVER.MOMENTUM", "-0.5"}, "command line: SOLVER.MOMENTUM = -0.5: must be"},
      {"", {"SOLVER.MOMENTUM", "0"}, "SOLVER.NESTEROV = True (default): needs SOLVER.MOMENTUM > 0"},
      {"", {"SOLVER.DAMPENING", "0.1"}, "SOLVER.NESTEROV = True (default): needs"},
      {"", {"SOLVER.WEIGHT_DECAY", "-1e-4"}, "SOLVER.WEIGHT_DECAY = -1e-4"},
      {"", {"BN.WEIGHT_DECAY", "nan"}, "BN.WEIGHT_DECAY"},
      {"", {"TRAIN.EVAL_PERIOD", "0"}, "TRAIN.EVAL_PERIOD = 0: must be at least 1"},
      {"", {"TRAIN.CHECKPOINT_PERIOD", "0"}, "TRAIN.CHECKPOINT_PERIOD = 0"},
      {"", {"TRAIN.KEEP_LAST_CHECKPOINTS", "0"}, "TRAIN.KEEP_LAST_CHECKPOINTS = 0"},
      {"", {"TRAIN.AUTO_RESUME", "maybe"}, "TRAIN.AUTO_RESUME = maybe: must be True or False"},
      {"", {"TEST.BATCH_SIZE", "0"}, "TEST.BATCH_SIZE = 0"},
      {"NUM_GPUS: 3\n", {}, "TEST.BATCH_SIZE = 8 (default): must be a multiple of the 3 processes"},
      {"", {"TEST.NUM_ENSEMBLE_VIEWS", "0"}, "TEST.NUM_ENSEMBLE_VIEWS = 0"},
      {"", {"TEST.NUM_SPATIAL_CROPS", "2"}, "TEST.NUM_SPATIAL_CROPS = 2: must be 1"},
      {"",
       {"BN.USE_PRECISE_STATS", "True", "BN.NUM_BATCHES_PRECISE", "0"},
       "BN.NUM_BATCHES_PRECISE = 0: must be at least 1"},
      {"", {"BN.NUM_BATCHES_PRECISE", "-1"}, "BN.NUM_BATCHES_PRECISE = -1"},
      {"", {"DATA_LOADER.NUM_WORKERS", "-2"}, "DATA_LOADER.NUM_WORKERS = -2"},
      {"", {"NUM_GPUS", "-1"}, "NUM_GPUS = -1"},
      {"", {"NUM_SHARDS", "2"}, "NUM_SHARDS = 2: must be 1"},
      {"", {"SHARD_ID", "1"}, "SHARD_ID = 1"},
      {"", {"LOG_PERIOD", "0"}, "LOG_PERIOD = 0"},
      {"", {"OUTPUT_DIR", "''"}, "OUTPUT_DIR"},
      {"", {"DIST_BACKEND", "mpi"}, "DIST_BACKEND = mpi: must be nccl or gloo"},
      {"", {"DEVICE", "tpu"}, "DEVICE = tpu: must be auto, cpu or cuda"},
      {"",
       {"BN.SUB_BATCH_COMPUTATION", "fused"},
       "BN.SUB_BATCH_COMPUTATION = fused: must be auto, in_place, regrouped or batched"},
      {"",
       {"DEVICE", "cpu", "TRAIN.CUDA_GRAPHS", "True"},
       "TRAIN.CUDA_GRAPHS = True: needs DEVICE"},
      {"", {"DIST_TIMEOUT_SECONDS", "0"}, "DIST_TIMEOUT_SECONDS = 0"},
      {"", {"DIST_TIMEOUT_SECONDS", "soon"}, "DIST_TIMEOUT_SECONDS = soon: must be a number"},
  };
  for (const auto& bad : cases) {
    CAPTURE(bad.expected);
    const auto message = error_of(bad.yaml, bad.overrides);
    CHECK(message.find(bad.expected) != std::string::npos);
  }
}

TEST_CASE("a bad config makes a tool exit with status 2") {
  const int status = run_tool("test-tool", "usage\n", [] {
    read_train_config(tree_of("", {"SOLVER.OPTIMIZING_METHOD", "adamw"}));
    return 0;
  });
  CHECK(status == exit_usage_error);
}

TEST_CASE("the resolved config holds file, overrides and defaults, and reads back the same") {
  const auto tree = tree_of(
      "MODEL:\n  NUM_CLASSES: 7\nSOLVER:\n  BASE_LR: 0.2\n  STEPS: [0, 10, 20]\n  LRS: [1, 0.1, "
      "0.01]\n"
      "  LR_POLICY: steps_with_relative_lrs\n  MAX_EPOCH: 30\nMULTIGRID:\n  LONG_CYCLE: True\n",
      {"TRAIN.EVAL_PERIOD", "2"});
  const auto schedule = read_schedule_config(tree);
  const auto train = read_train_config(tree);
  resolved_config resolved(tree);
  add_declared_keys(resolved, tree, key_part::schedule | key_part::trainer);
  const auto leaves = resolved.flatten();
  CHECK(leaves.at("MODEL.NUM_CLASSES") == "7");         // from the file, not read by these parts
  CHECK(leaves.at("TRAIN.EVAL_PERIOD") == "2");         // override
  CHECK(leaves.at("TEST.NUM_ENSEMBLE_VIEWS") == "10");  // default
  CHECK(leaves.at("SOLVER.MOMENTUM") == "0.9");
  CHECK(leaves.at("SOLVER.WEIGHT_DECAY") == "0.0001");
  CHECK(leaves.at("SOLVER.NESTEROV") == "True");
  CHECK(leaves.at("MULTIGRID.SHORT_CYCLE_FACTORS") == "[0.5, 0.7071067811865476]");
  CHECK(leaves.at("DATA.TRAIN_JITTER_SCALES") == "[256, 320]");
  CHECK(leaves.at("OUTPUT_DIR") == ".");

  // Reading the saved YAML back gives the same configuration, defaults made explicit.
  const auto reread = resolved_config::parse(resolved.yaml(), "config.yaml");
  CHECK(reread.flatten() == leaves);
  const auto tree_again = config_tree::load_string(resolved.yaml(), "config.yaml");
  const auto schedule_again = read_schedule_config(tree_again);
  CHECK(schedule_again.solver.base_lr == schedule.solver.base_lr);
  CHECK(schedule_again.solver.steps == schedule.solver.steps);
  CHECK(schedule_again.solver.lrs == schedule.solver.lrs);
  CHECK(schedule_again.multigrid.short_cycle_factors == schedule.multigrid.short_cycle_factors);
  CHECK(schedule_again.multigrid.long_cycle_factors.size() ==
        schedule.multigrid.long_cycle_factors.size());
  CHECK(schedule_again.multigrid.long_cycle_factors[0].spatial ==
        schedule.multigrid.long_cycle_factors[0].spatial);
  const auto train_again = read_train_config(tree_again);
  CHECK(train_again.train.eval_period == 2);
  CHECK(train_again.optimizer.weight_decay == train.optimizer.weight_decay);
}

TEST_CASE("floats keep a decimal point and read back exactly") {
  CHECK(float_text(0.1) == "0.1");
  CHECK(float_text(1.0) == "1.0");
  CHECK(float_text(1e-4) == "0.0001");
  CHECK(float_text(1e-20) == "1e-20");
  for (double value : {0.1, 1.0 / 3, 0.7071067811865476, 123456789.125, -2.5e-7}) {
    CHECK(std::stod(float_text(value)) == value);
  }
}
