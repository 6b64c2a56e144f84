#include <doctest/doctest.h>

#include <cmath>
#include <multigrid/epoch_schedule.hpp>
#include <multigrid/long_cycle.hpp>
#include <vector>

#include "kinetics_config.hpp"

using namespace multigrid;

namespace {

struct expected_stage {
  int lr_stage, begin, end, batch_factor, frames, crop;
  bool fine_tune;
};

void check_stages(const epoch_schedule& schedule, const std::vector<expected_stage>& expected) {
  REQUIRE(schedule.stages.size() == expected.size());
  for (std::size_t i = 0; i < expected.size(); ++i) {
    CAPTURE(i);
    const auto& stage = schedule.stages[i];
    CHECK(stage.lr_stage == expected[i].lr_stage);
    CHECK(stage.begin_epoch == expected[i].begin);
    CHECK(stage.end_epoch == expected[i].end);
    CHECK(stage.batch_factor == expected[i].batch_factor);
    CHECK(stage.num_frames == expected[i].frames);
    CHECK(stage.crop == expected[i].crop);
    CHECK(stage.fine_tune == expected[i].fine_tune);
  }
}

void check_lrs(const std::vector<double>& actual, const std::vector<double>& expected) {
  REQUIRE(actual.size() == expected.size());
  for (std::size_t i = 0; i < expected.size(); ++i) {
    CAPTURE(i);
    CHECK(actual[i] == doctest::Approx(expected[i]).epsilon(1e-12));
  }
}

}  // namespace

TEST_CASE("Kinetics SlowFast-R50 multigrid: the published schedule, to the epoch") {
  const auto schedule = make_epoch_schedule(testing::kinetics_slowfast_multigrid());
  CHECK(schedule.max_epoch == 358);
  CHECK(schedule.steps ==
        std::vector<int>{0, 73, 110, 142, 158, 205, 228, 248, 259, 291, 308, 322, 329, 343});
  check_lrs(schedule.relative_lrs, {8, 4, 2, 1, .8, .4, .2, .1, .08, .04, .02, .01, .01, .001});
  check_stages(schedule, {{0, 0, 73, 8, 8, 158, false},
                          {0, 73, 110, 4, 16, 158, false},
                          {0, 110, 142, 2, 16, 224, false},
                          {0, 142, 158, 1, 32, 224, false},
                          {1, 158, 205, 8, 8, 158, false},
                          {1, 205, 228, 4, 16, 158, false},
                          {1, 228, 248, 2, 16, 224, false},
                          {1, 248, 259, 1, 32, 224, false},
                          {2, 259, 291, 8, 8, 158, false},
                          {2, 291, 308, 4, 16, 158, false},
                          {2, 308, 322, 2, 16, 224, false},
                          {2, 322, 329, 1, 32, 224, false},
                          {3, 329, 358, 1, 32, 224, true}});
}

TEST_CASE("Kinetics: the long-cycle candidates have the worked example's mean batches") {
  const auto cfg = testing::kinetics_slowfast_multigrid();
  const std::vector<double> expected{32.0 / 3, 16.0 / 3, 14.0 / 3, 7.0 / 3};  // 10.667, 5.333, ...
  for (std::size_t j = 0; j < expected.size(); ++j) {
    CAPTURE(j);
    const auto candidates = detail::long_cycle_candidates(cfg, cfg.multigrid.long_cycle_factors[j]);
    REQUIRE(candidates.size() == 3);
    double sum = 0;
    for (const auto& candidate : candidates) sum += candidate.batch_factor;
    CHECK(sum / 3 == doctest::Approx(expected[j]));
    // The short-cycle crops are the reference's unrounded products.
    CHECK(candidates[0].crop == doctest::Approx(112.0));
    CHECK(candidates[1].crop == doctest::Approx(224 * std::sqrt(0.5)));
  }
}

TEST_CASE("A rounded half goes to the even epoch: MAX_EPOCH 358, not 359") {
  // 239 * 1.5 = 358.5: the last cumulative end is exactly a half.
  const auto schedule = make_epoch_schedule(testing::kinetics_slowfast_multigrid());
  CHECK(schedule.stages.back().end_epoch == 358);
}

TEST_CASE("SSv2 SlowFast 16x8 multigrid: the reference's schedule, with an empty stage") {
  const auto schedule = make_epoch_schedule(testing::ssv2_slowfast_multigrid());
  CHECK(schedule.max_epoch == 33);
  CHECK(schedule.steps == std::vector<int>{0, 11, 16, 21, 24, 27, 28, 30, 30, 31});
  check_lrs(schedule.relative_lrs, {8, 4, 2, 1, .8, .4, .2, .1, .1, .01});
  check_stages(schedule, {{0, 0, 11, 8, 16, 158, false},
                          {0, 11, 16, 4, 32, 158, false},
                          {0, 16, 21, 2, 32, 224, false},
                          {0, 21, 24, 1, 64, 224, false},
                          {1, 24, 27, 8, 16, 158, false},
                          {1, 27, 28, 4, 32, 158, false},
                          {1, 28, 30, 2, 32, 224, false},
                          {1, 30, 30, 1, 64, 224, false},
                          {2, 30, 33, 1, 64, 224, true}});
  CHECK(schedule.stages[7].empty());
}

TEST_CASE("Charades SlowFast 16x8 multigrid: the reference's schedule") {
  const auto schedule = make_epoch_schedule(testing::charades_slowfast_multigrid());
  CHECK(schedule.max_epoch == 86);
  CHECK(schedule.steps == std::vector<int>{0, 31, 47, 60, 67, 73, 76, 79, 80, 83});
  check_lrs(schedule.relative_lrs, {8, 4, 2, 1, .8, .4, .2, .1, .1, .01});
  CHECK(schedule.stages.back().begin_epoch == 80);
  CHECK(schedule.stages.back().fine_tune);
}

TEST_CASE("Long cycle with the short cycle off works (PySlowFast raises IndexError)") {
  auto cfg = testing::kinetics_slowfast_multigrid();
  cfg.multigrid.short_cycle = false;
  const auto schedule = make_epoch_schedule(cfg);
  // PySlowFast's arithmetic with its fine-tune index fixed: each shape's mean batch is its own.
  CHECK(schedule.steps ==
        std::vector<int>{0, 87, 130, 152, 162, 218, 245, 259, 266, 305, 324, 334, 339, 348});
  CHECK(schedule.max_epoch == 358);
  check_lrs(schedule.relative_lrs, {8, 4, 2, 1, .8, .4, .2, .1, .08, .04, .02, .01, .01, .001});
  REQUIRE(schedule.stages.size() == 13);
  CHECK(schedule.stages.back().fine_tune);
  CHECK(schedule.stages.back().num_frames == 32);
  CHECK(schedule.stages.back().crop == 224);
}

TEST_CASE("Short cycle alone multiplies STEPS and MAX_EPOCH by EPOCH_FACTOR, truncated") {
  auto cfg = testing::kinetics_slowfast_multigrid();
  cfg.multigrid.long_cycle = false;
  const auto schedule = make_epoch_schedule(cfg);
  CHECK(schedule.steps == std::vector<int>{0, 141, 231, 294});
  CHECK(schedule.max_epoch == 358);  // int(239 * 1.5) = int(358.5)
  check_lrs(schedule.relative_lrs, {1, 0.1, 0.01, 0.001, 0.0001, 0.00001});
  REQUIRE(schedule.stages.size() == 1);
  CHECK(schedule.stages[0].end_epoch == 358);
  CHECK(schedule.stages[0].batch_factor == 1);
}

TEST_CASE("Without multigrid the schedule is the configuration's own") {
  auto cfg = testing::kinetics_slowfast_multigrid();
  cfg.multigrid.long_cycle = false;
  cfg.multigrid.short_cycle = false;
  const auto schedule = make_epoch_schedule(cfg);
  CHECK(schedule.steps == cfg.solver.steps);
  CHECK(schedule.max_epoch == 239);
  REQUIRE(schedule.stages.size() == 1);
  CHECK(schedule.stages[0].num_frames == 32);
  CHECK(schedule.stages[0].crop == 224);
}

TEST_CASE("One LR stage is cycled over the whole run (PySlowFast divides by zero)") {
  auto cfg = testing::kinetics_slowfast_multigrid();
  cfg.solver.steps = {0};
  cfg.solver.max_epoch = 100;
  const auto schedule = make_epoch_schedule(cfg);
  REQUIRE(schedule.stages.size() == 4);
  for (const auto& stage : schedule.stages) CHECK_FALSE(stage.fine_tune);
  CHECK(schedule.max_epoch == 150);
  // Shares 32:16:14:7 of 69, scaled by 1.5.
  CHECK(schedule.stages[0].end_epoch == static_cast<int>(std::nearbyint(100 * 32.0 / 69 * 1.5)));
  CHECK(schedule.steps.size() == 4);
  check_lrs(schedule.relative_lrs, {8, 4, 2, 1});
}

TEST_CASE("A cosine policy with empty STEPS is one LR stage too") {
  auto cfg = testing::kinetics_slowfast_multigrid();
  cfg.solver.policy = lr_policy::cosine;
  cfg.solver.steps = {};
  cfg.solver.max_epoch = 100;
  const auto schedule = make_epoch_schedule(cfg);
  CHECK(schedule.stages.size() == 4);
  CHECK(schedule.max_epoch == 150);
}

TEST_CASE("MAX_EPOCH equal to the last step gives an empty fine-tune") {
  auto cfg = testing::kinetics_slowfast_multigrid();
  cfg.solver.max_epoch = 196;
  const auto schedule = make_epoch_schedule(cfg);
  CHECK(schedule.stages.back().fine_tune);
  CHECK(schedule.stages.back().empty());
  CHECK(schedule.steps.back() == schedule.max_epoch);
}

TEST_CASE("A DEFAULT_S other than the crop changes the short-cycle candidates") {
  auto cfg = testing::kinetics_slowfast_multigrid();
  cfg.multigrid.default_s = 256;
  const auto candidates = detail::long_cycle_candidates(cfg, {1.0, 1.0});
  CHECK(candidates[0].crop == doctest::Approx(128));
  CHECK(candidates[0].batch_factor == 3);  // round(224^2 / 128^2) = round(3.06)
}
