#include <doctest/doctest.h>

#include <multigrid/plan.hpp>

#include "kinetics_config.hpp"

using namespace multigrid;

namespace {
constexpr std::int64_t kinetics_train_videos = 234619;
}

TEST_CASE("Kinetics plan: iterations per epoch follow each stage's short cycle") {
  const plan p(testing::kinetics_slowfast_multigrid(), kinetics_train_videos);
  const std::int64_t per_rank = kinetics_train_videos / 8;  // 29327
  CHECK(per_rank == 29327);
  // Stage 0: per-GPU 128, 64, 64: 114 cycles of 256 clips, then 143 left: one more batch of 128.
  CHECK(p.stages()[0].iterations_per_epoch == 343);
  // Stage 3 (base): 32, 16, 8: 523 cycles of 56 clips, then 39 left: one more batch of 32.
  CHECK(p.stages()[3].iterations_per_epoch == 1570);
  CHECK(p.epochs() == 358);
  std::int64_t total = 0;
  for (const auto& stage : p.stages()) total += stage.iterations();
  CHECK(p.total_iterations() == total);
}

TEST_CASE("Every global iteration maps to its (epoch, iteration) and back") {
  const plan p(testing::kinetics_slowfast_multigrid(), 5000);
  std::int64_t global = 0;
  for (int epoch = 0; epoch < p.epochs(); ++epoch) {
    CAPTURE(epoch);
    CHECK(p.first_iteration_of_epoch(epoch) == global);
    const auto count = p.iterations_in_epoch(epoch);
    for (std::int64_t i = 0; i < count; i += 7) {
      const auto by_epoch = p.at(epoch, i);
      const auto by_global = p.at(global + i);
      CHECK(by_global.epoch == epoch);
      CHECK(by_global.iteration == i);
      CHECK(by_epoch.global_iteration == global + i);
      CHECK(by_epoch.lr == by_global.lr);
      CHECK(by_epoch.shape == by_global.shape);
    }
    global += count;
  }
  CHECK(global == p.total_iterations());
  CHECK(p.first_iteration_of_epoch(p.epochs()) == p.total_iterations());
}

TEST_CASE("An iteration knows its shape, LR, BN mode and whether its stage begins") {
  const plan p(testing::kinetics_slowfast_multigrid(), kinetics_train_videos);
  const auto first = p.at(0, 0);
  CHECK(first.stage_begins);
  CHECK(first.stage == 0);
  CHECK(first.shape_index == 0);
  CHECK(first.shape.per_gpu_batch == 128);
  CHECK(first.shape.crop == 112);
  CHECK(first.shape.num_frames == 8);
  CHECK(first.lr == doctest::Approx(0.01));
  CHECK(first.settings->batch_norm.splits == 8);
  CHECK(first.settings->sampling_rate == std::array<int, 2>{2, 8});

  const auto second = p.at(0, 1);
  CHECK_FALSE(second.stage_begins);
  CHECK(second.shape.per_gpu_batch == 64);
  CHECK(second.shape.crop == 158);
  CHECK(second.lr > first.lr);  // warm-up is per iteration

  const auto stage1 = p.at(73, 0);
  CHECK(stage1.stage_begins);
  CHECK(stage1.stage == 1);
  CHECK(stage1.settings->batch_norm.splits == 4);
  CHECK(stage1.lr == doctest::Approx(0.4));
  CHECK_FALSE(p.at(74, 0).stage_begins);

  const auto fine_tune = p.at(357, 2);  // batch 2 of each cycle is the base shape
  CHECK(fine_tune.stage == 12);
  CHECK(fine_tune.lr == doctest::Approx(0.0001));
  CHECK(fine_tune.shape.per_gpu_batch == 8);
  CHECK(fine_tune.shape.crop == 224);
}

TEST_CASE("Empty stages are never returned and their neighbours begin correctly") {
  const plan p(testing::ssv2_slowfast_multigrid(), 168913);
  CHECK(p.stage_of_epoch(29) == 6);
  CHECK(p.stage_of_epoch(30) == 8);  // stage 7 is empty
  const auto fine_tune = p.at(30, 0);
  CHECK(fine_tune.stage == 8);
  CHECK(fine_tune.stage_begins);
  CHECK(p.stages()[7].iterations() == 0);
}

TEST_CASE("The plan rejects out-of-range positions and too small datasets") {
  const plan p(testing::kinetics_slowfast_multigrid(), 5000);
  CHECK_THROWS_AS(p.at(-1, 0), std::out_of_range);
  CHECK_THROWS_AS(p.at(358, 0), std::out_of_range);
  CHECK_THROWS_AS(p.at(0, p.iterations_in_epoch(0)), std::out_of_range);
  CHECK_THROWS_AS(p.at(p.total_iterations()), std::out_of_range);
  CHECK_THROWS_AS(p.at(std::int64_t{-1}), std::out_of_range);
  // 8 processes with 100 videos hold 12 each: less than one batch of 128.
  try {
    plan tiny(testing::kinetics_slowfast_multigrid(), 100);
    FAIL("expected invalid_config");
  } catch (const invalid_config& error) {
    CHECK(error.errors().front().field == "training samples");
    CHECK(std::string(error.what()).find("stage 0") != std::string::npos);
  }
  CHECK_THROWS_AS(plan(testing::kinetics_slowfast_multigrid(), -1), invalid_config);
}

TEST_CASE("A plan rejects an invalid configuration with every error") {
  auto cfg = testing::kinetics_slowfast_multigrid();
  cfg.batch_size = 60;
  cfg.solver.steps = {1, 94};
  try {
    plan p(cfg, 100000);
    FAIL("expected invalid_config");
  } catch (const invalid_config& error) {
    CHECK(error.errors().size() == 2);
  }
}

TEST_CASE(
    "Long cycle without the short cycle: one shape per stage, batch changes at stage starts") {
  auto cfg = testing::kinetics_slowfast_multigrid();
  cfg.multigrid.short_cycle = false;
  const plan p(cfg, 50000);
  int previous_batch = 0;
  for (std::size_t s = 0; s < p.stages().size(); ++s) {
    const auto& stage = p.stages()[s];
    if (stage.schedule.empty()) continue;
    CAPTURE(s);
    const auto step = p.at(stage.first_iteration);
    CHECK(step.stage_begins);
    CHECK(step.settings->cycle_length == 1);
    CHECK(step.shape == stage.settings.base);
    if (s > 0 && previous_batch != step.shape.per_gpu_batch) {
      CHECK(p.at(stage.first_iteration - 1).shape.per_gpu_batch == previous_batch);
    }
    previous_batch = step.shape.per_gpu_batch;
  }
}
