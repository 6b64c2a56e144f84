// MULTIGRID.MIN_CROP_SIZE, the schedule's cost against the standard one, and the warnings before
// training (docs/training.md: "Why multigrid collapsed on small motion sets").

#include <doctest/doctest.h>

#include <cmath>
#include <multigrid/plan.hpp>
#include <multigrid/schedule_cost.hpp>
#include <multigrid/schedule_warnings.hpp>
#include <multigrid/validation.hpp>
#include <string>

#include "kinetics_config.hpp"

using namespace multigrid;

namespace {

// The demo's base shape (16 frames, 64-pixel crops, 4 clips a step) with the long and short
// cycle, over 60 epochs: the configuration whose 32-pixel short-cycle crops made multigrid
// collapse.
config small_motion_config() {
  config cfg;
  cfg.num_gpus = 1;
  cfg.batch_size = 4;
  cfg.data.num_frames = 16;
  cfg.data.sampling_rate = 2;
  cfg.data.train_crop_size = 64;
  cfg.data.train_jitter_scales = {64, 80};
  cfg.solver.base_lr = 0.0125;
  cfg.solver.policy = lr_policy::steps_with_relative_lrs;
  cfg.solver.lrs = {1, 0.1, 0.01};
  cfg.solver.steps = {0, 40, 52};
  cfg.solver.max_epoch = 60;
  cfg.solver.warmup_epochs = 7.5;
  cfg.solver.warmup_start_lr = 0.00125;
  cfg.multigrid.long_cycle = true;
  cfg.multigrid.short_cycle = true;
  cfg.multigrid.bn_base_size = 16;
  return cfg;
}

bool has_warning(const std::vector<schedule_warning>& warnings, const std::string& key,
                 const std::string& text) {
  for (const auto& warning : warnings) {
    if (warning.key == key && warning.text().find(text) != std::string::npos) return true;
  }
  return false;
}

}  // namespace

TEST_CASE("MIN_CROP_SIZE 0 keeps PySlowFast's crops") {
  const plan kinetics(testing::kinetics_slowfast_multigrid(), 234619);
  CHECK(kinetics.stages()[0].settings.cycle[0].crop == 112);
  CHECK(kinetics.stages()[0].settings.cycle[1].crop == 158);
  CHECK(small_motion_config().multigrid.min_crop_size == 0);
  const plan small(small_motion_config(), 200);
  CHECK(small.stages()[0].settings.cycle[0].crop == 32);
  CHECK(small.stages()[3].settings.cycle[0].crop == 32);
}

TEST_CASE("MIN_CROP_SIZE raises the short cycle's small crop, with the batch that follows it") {
  auto floored = small_motion_config();
  floored.multigrid.min_crop_size = 45;
  // The same schedule as PySlowFast's with the first short-cycle factor moved to 45/64: the floor
  // changes the crops and nothing else.
  auto equivalent = small_motion_config();
  equivalent.multigrid.short_cycle_factors[0] = 45.0 / 64;
  const plan a(floored, 200);
  const plan b(equivalent, 200);
  REQUIRE(a.stages().size() == b.stages().size());
  CHECK(a.schedule().steps == b.schedule().steps);
  CHECK(a.total_iterations() == b.total_iterations());
  for (std::size_t i = 0; i < a.stages().size(); ++i) {
    CAPTURE(i);
    for (std::size_t m = 0; m < 3; ++m)
      CHECK(a.stages()[i].settings.cycle[m] == b.stages()[i].settings.cycle[m]);
  }
  // 64-pixel stages: 8 clips at 45 twice, then the base 4 at 64; 45-pixel stages keep one batch.
  const auto& fine = a.stages()[3].settings;
  CHECK(fine.cycle[0].crop == 45);
  CHECK(fine.cycle[0].per_gpu_batch == 8);
  CHECK(fine.cycle[0].jitter == std::array<int, 2>{45, 80});
  CHECK(fine.cycle[2].crop == 64);
  const auto& coarse = a.stages()[0].settings;
  CHECK(coarse.cycle[0].crop == 45);
  CHECK(coarse.cycle[0].per_gpu_batch == coarse.base.per_gpu_batch);
}

TEST_CASE("MIN_CROP_SIZE raises long-cycle crops too, and is checked") {
  auto cfg = small_motion_config();
  cfg.multigrid.min_crop_size = 50;
  const plan raised(cfg, 400);
  CHECK(raised.stages()[0].settings.base.crop == 50);  // 64 / sqrt(2) = 45 raised
  CHECK(raised.stages()[0].settings.cycle[0].crop == 50);

  cfg.multigrid.min_crop_size = -1;
  auto errors = validate(cfg);
  REQUIRE(errors.size() == 1);
  CHECK(errors[0].field == "MULTIGRID.MIN_CROP_SIZE");
  cfg.multigrid.min_crop_size = 65;
  errors = validate(cfg);
  REQUIRE(errors.size() == 1);
  CHECK(errors[0].to_string().find("DATA.TRAIN_CROP_SIZE (64)") != std::string::npos);
}

TEST_CASE("standard_epochs_for_steps: multigrid's steps as epochs of the standard schedule") {
  // The standard counterpart's epochs, not multigrid's 358: 0.5 of Kinetics' 239 standard epochs.
  const auto kinetics = testing::kinetics_slowfast_multigrid();
  CHECK(standard_epochs_for_steps(kinetics, 0.5) == doctest::Approx(119.5));
  CHECK(standard_epochs_for_steps(kinetics, iteration_ratio(kinetics)) ==
        doctest::Approx(69.8).epsilon(0.002));
}

TEST_CASE("iteration_ratio: multigrid's share of the standard schedule's steps") {
  // The Kinetics config's 3.42x fewer iterations (docs/schedule.md), and the exact count of the
  // plans for a dataset size.
  const auto kinetics = testing::kinetics_slowfast_multigrid();
  CHECK(iteration_ratio(kinetics) == doctest::Approx(0.2925).epsilon(0.002));
  const plan multigrid(kinetics, 234619);
  const plan standard(standard_counterpart(kinetics), 234619);
  CHECK(standard.epochs() == 239);
  CHECK(iteration_ratio(kinetics, 234619) ==
        doctest::Approx(static_cast<double>(multigrid.total_iterations()) /
                        standard.total_iterations()));
  // 200 clips: 789 steps against 3,000 (15 of 50 clips an epoch are dropped in coarse stages).
  const auto small = small_motion_config();
  CHECK(plan(small, 200).total_iterations() == 789);
  CHECK(plan(standard_counterpart(small), 200).total_iterations() == 3000);
}

TEST_CASE("The warnings name the stage, the number and the key where multigrid collapsed") {
  // 120 videos with 32-pixel short-cycle crops: both problems of the collapsed run.
  const auto warnings = check_schedule_fit(plan(small_motion_config(), 120));
  // One warning for the crops, one for each count of steps under the limit.
  REQUIRE(warnings.size() == 4);
  CHECK(has_warning(warnings, "MULTIGRID.MIN_CROP_SIZE", "crops of 32 px are under 45 px"));
  CHECK(has_warning(warnings, "MULTIGRID.MIN_CROP_SIZE", "set MULTIGRID.MIN_CROP_SIZE 45"));
  CHECK(has_warning(warnings, "TRAIN.BATCH_SIZE", "stages 0, 4: 2 iterations an epoch, under 8"));
  CHECK(has_warning(warnings, "TRAIN.BATCH_SIZE", "stages 1, 5: 5 iterations an epoch, under 8"));
  CHECK(has_warning(warnings, "TRAIN.BATCH_SIZE", "stages 2, 6: 6 iterations an epoch, under 8"));
  for (const auto& warning : warnings) CHECK_FALSE(warning.stages.empty());

  // The documented remedy and enough videos: nothing to say; 200 videos give the coarsest stages
  // 6 steps an epoch.
  auto remedied = small_motion_config();
  remedied.multigrid.min_crop_size = 45;
  CHECK(check_schedule_fit(plan(remedied, 400)).empty());
  const auto few = check_schedule_fit(plan(remedied, 200));
  REQUIRE(few.size() == 1);
  CHECK(few[0].text() ==
        "stages 0, 4: 6 iterations an epoch, under 8 for 200 training clips; "
        "lower TRAIN.BATCH_SIZE (and SOLVER.BASE_LR with it), or train without "
        "the long cycle");
  // PySlowFast's Kinetics schedule is far from every limit.
  CHECK(check_schedule_fit(plan(testing::kinetics_slowfast_multigrid(), 234619)).empty());
}

TEST_CASE("Too few frames and a small base crop are named with their keys") {
  auto cfg = small_motion_config();
  cfg.data.num_frames = 8;  // the coarsest stage sees 2 frames
  cfg.multigrid.min_crop_size = 45;
  const auto warnings = check_schedule_fit(plan(cfg, 400));
  CHECK(has_warning(warnings, "MULTIGRID.LONG_CYCLE_FACTORS", "2 frames a clip, under 4"));

  auto small_base = small_motion_config();
  small_base.multigrid.long_cycle = false;
  small_base.multigrid.short_cycle = false;
  small_base.data.train_crop_size = 40;
  small_base.data.train_jitter_scales = {40, 50};
  const auto base_warnings = check_schedule_fit(plan(small_base, 400));
  REQUIRE(base_warnings.size() == 1);
  CHECK(base_warnings[0].key == "DATA.TRAIN_CROP_SIZE");
}

TEST_CASE("Warnings follow what the user can change: base crop, base frames, no long cycle") {
  // A 40-pixel base with the short cycle: its crops of 20, 28 and 40 px are all under 45 and no
  // MIN_CROP_SIZE can be above the base, so each warning's advice is the base crop.
  auto small_base = small_motion_config();
  small_base.multigrid.long_cycle = false;
  small_base.data.train_crop_size = 40;
  small_base.data.train_jitter_scales = {40, 50};
  auto warnings = check_schedule_fit(plan(small_base, 400));
  REQUIRE(warnings.size() == 3);
  CHECK(has_warning(warnings, "DATA.TRAIN_CROP_SIZE", "crops of 20 px"));
  const auto each_stage_once = [](const schedule_warning& warning) {
    for (std::size_t i = 1; i < warning.stages.size(); ++i) {
      if (warning.stages[i] <= warning.stages[i - 1]) return false;
    }
    return !warning.stages.empty();
  };
  for (const auto& warning : warnings) {
    CHECK(warning.key == "DATA.TRAIN_CROP_SIZE");
    CHECK(warning.advice == "train at a larger DATA.TRAIN_CROP_SIZE");
    CHECK(each_stage_once(warning));
  }

  // 60 pixels: the coarse stages' long-cycle crop and short-cycle S/sqrt(2) crop are both 42.
  auto sixty = small_motion_config();
  sixty.data.train_crop_size = 60;
  sixty.data.train_jitter_scales = {60, 75};
  warnings = check_schedule_fit(plan(sixty, 4000));
  REQUIRE_FALSE(warnings.empty());
  CHECK(has_warning(warnings, "MULTIGRID.MIN_CROP_SIZE", "crops of 42 px"));
  for (const auto& warning : warnings) CHECK(each_stage_once(warning));

  // Few frames without the long cycle: the frames are the base's.
  auto few_frames = small_motion_config();
  few_frames.multigrid.long_cycle = false;
  few_frames.multigrid.short_cycle = false;
  few_frames.data.num_frames = 2;
  warnings = check_schedule_fit(plan(few_frames, 400));
  REQUIRE(warnings.size() == 1);
  CHECK(has_warning(warnings, "DATA.NUM_FRAMES", "2 frames a clip, under 4"));

  // A short epoch of the standard schedule is the recipe's, not multigrid's: no warning.
  auto standard = small_motion_config();
  standard.multigrid.long_cycle = false;
  standard.multigrid.short_cycle = false;
  CHECK(check_schedule_fit(plan(standard, 20)).empty());
}
