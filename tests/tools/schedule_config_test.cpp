#include "config/schedule_config.hpp"

#include <doctest/doctest.h>

#include <multigrid/epoch_schedule.hpp>
#include <string>

using namespace multigrid::reference;

namespace {
const std::string kinetics_path =
    std::string(MULTIGRID_SOURCE_DIR) +
    "/reference/configs/Kinetics/SLOWFAST_8x8_R50_stepwise_multigrid.yaml";
}

TEST_CASE("The bundled Kinetics config reads into the published schedule") {
  const auto tree = config_tree::load_file(kinetics_path);
  const auto cfg = read_schedule_config(tree);
  CHECK(cfg.num_gpus == 8);
  CHECK(cfg.batch_size == 64);
  CHECK(cfg.data.num_frames == 32);
  CHECK(cfg.solver.policy == multigrid::lr_policy::steps_with_relative_lrs);
  CHECK(cfg.multigrid.long_cycle);
  CHECK(cfg.multigrid.long_cycle_factors.size() == 4);  // PySlowFast's default
  const auto schedule = multigrid::make_epoch_schedule(cfg);
  CHECK(schedule.max_epoch == 358);
}

TEST_CASE("Missing keys keep PySlowFast's defaults") {
  const auto cfg = read_schedule_config(config_tree::load_string("", "empty.yaml"));
  const multigrid::config defaults;
  CHECK(cfg.num_gpus == 1);
  CHECK(cfg.batch_size == 64);
  CHECK(cfg.data.num_frames == 8);
  CHECK(cfg.data.sampling_rate == 8);
  CHECK(cfg.solver.policy == multigrid::lr_policy::cosine);
  CHECK(cfg.solver.max_epoch == 300);
  CHECK(cfg.multigrid.epoch_factor == 1.5);
  CHECK(cfg.multigrid.bn_base_size == 8);
  CHECK(cfg.multigrid.short_cycle_factors == defaults.multigrid.short_cycle_factors);
}

TEST_CASE("Long-cycle factors, short-cycle factors and the policy are read and checked") {
  auto tree = config_tree::load_string(
      "MULTIGRID:\n  LONG_CYCLE_FACTORS: [[0.5, 0.5], [1, 1]]\n  SHORT_CYCLE_FACTORS: [0.25, "
      "0.5]\n",
      "run.yaml");
  const auto cfg = read_schedule_config(tree);
  REQUIRE(cfg.multigrid.long_cycle_factors.size() == 2);
  CHECK(cfg.multigrid.long_cycle_factors[0].spatial == 0.5);
  CHECK(cfg.multigrid.short_cycle_factors[0] == 0.25);

  auto bad_pair =
      config_tree::load_string("MULTIGRID:\n  LONG_CYCLE_FACTORS: [[0.5], [1, 1]]\n", "run.yaml");
  CHECK_THROWS_WITH_AS(read_schedule_config(bad_pair), doctest::Contains("pair"), config_error);
  auto bad_policy = config_tree::load_string("SOLVER:\n  LR_POLICY: exponential\n", "run.yaml");
  CHECK_THROWS_WITH_AS(read_schedule_config(bad_policy),
                       doctest::Contains("run.yaml:2: SOLVER.LR_POLICY = exponential"),
                       config_error);
  CHECK_THROWS_WITH_AS(
      read_schedule_config(bad_policy),
      doctest::Contains("use cosine, cosine_batch_scaled, steps or steps_with_relative_lrs"),
      config_error);
}

TEST_CASE("MULTIGRID.LONG_CYCLE_STRIDE reads its three choices and names a wrong one") {
  CHECK(read_schedule_config(config_tree::load_string("", "empty.yaml")).multigrid.stride ==
        multigrid::long_cycle_stride::drawn);
  auto span = config_tree::load_string("MULTIGRID:\n  LONG_CYCLE_STRIDE: base_span\n", "run.yaml");
  CHECK(read_schedule_config(span).multigrid.stride == multigrid::long_cycle_stride::base_span);
  span.apply_overrides({"MULTIGRID.LONG_CYCLE_STRIDE", "base_stride"});
  CHECK(read_schedule_config(span).multigrid.stride == multigrid::long_cycle_stride::base_stride);
  auto wrong = config_tree::load_string("MULTIGRID:\n  LONG_CYCLE_STRIDE: fixed\n", "run.yaml");
  CHECK_THROWS_WITH_AS(read_schedule_config(wrong),
                       doctest::Contains("run.yaml:2: MULTIGRID.LONG_CYCLE_STRIDE = fixed"),
                       config_error);
  CHECK_THROWS_WITH_AS(read_schedule_config(wrong),
                       doctest::Contains("use drawn, base_span or base_stride"), config_error);
}

TEST_CASE("Validation errors are reported with where each key was written") {
  auto tree = config_tree::load_file(kinetics_path);
  tree.apply_overrides({"TRAIN.BATCH_SIZE", "60"});
  const auto cfg = read_schedule_config(tree);
  CHECK_THROWS_WITH_AS(check_schedule_config(tree, cfg),
                       doctest::Contains("command line: TRAIN.BATCH_SIZE = 60: must be divisible"),
                       config_error);
  auto from_file = config_tree::load_string(
      "SOLVER:\n  STEPS: [3, 10]\n  MAX_EPOCH: 20\n  LR_POLICY: steps\n", "run.yaml");
  CHECK_THROWS_WITH_AS(check_schedule_config(from_file, read_schedule_config(from_file)),
                       doctest::Contains("run.yaml:2: SOLVER.STEPS = [3, 10]: must start at 0"),
                       config_error);
}
