// MULTIGRID.LONG_CYCLE_LR_STAGES (ours): the long cycle in the first N LR stages only, the later
// ones at the base shape (docs/schedule.md, "Where we differ from the reference").

#include <doctest/doctest.h>

#include <cmath>
#include <multigrid/epoch_schedule.hpp>
#include <multigrid/long_cycle.hpp>
#include <multigrid/schedule_cost.hpp>
#include <multigrid/validation.hpp>
#include <string>
#include <vector>

#include "kinetics_config.hpp"

using namespace multigrid;

namespace {

bool same_entries(const std::vector<long_cycle_entry>& a, const std::vector<long_cycle_entry>& b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (a[i].lr_stage != b[i].lr_stage || a[i].batch_factor != b[i].batch_factor ||
        a[i].num_frames != b[i].num_frames || a[i].crop != b[i].crop ||
        a[i].end_epoch != b[i].end_epoch || a[i].fine_tune != b[i].fine_tune) {
      return false;
    }
  }
  return true;
}

const schedule_stage* stage_of_lr_stage(const epoch_schedule& schedule, int lr_stage) {
  for (const auto& stage : schedule.stages) {
    if (stage.lr_stage == lr_stage) return &stage;
  }
  return nullptr;
}

}  // namespace

TEST_CASE("LONG_CYCLE_LR_STAGES 0, or every LR stage before the fine-tune, is PySlowFast's") {
  // Kinetics has three LR stages before its fine-tune; cycling all three is the default.
  const auto kinetics = testing::kinetics_slowfast_multigrid();
  auto all = kinetics;
  all.multigrid.long_cycle_lr_stages = 3;
  CHECK(kinetics.multigrid.long_cycle_lr_stages == 0);
  CHECK(same_entries(long_cycle_entries(kinetics), long_cycle_entries(all)));
  CHECK(validate(all).empty());
}

TEST_CASE("With LONG_CYCLE_LR_STAGES N the later LR stages train at the base shape") {
  const auto kinetics = testing::kinetics_slowfast_multigrid();
  const auto pyslowfast = make_epoch_schedule(kinetics);
  for (int cycled = 1; cycled <= 2; ++cycled) {
    CAPTURE(cycled);
    auto cfg = kinetics;
    cfg.multigrid.long_cycle_lr_stages = cycled;
    const auto schedule = make_epoch_schedule(cfg);
    // Four shapes in each cycled stage, one in each later stage and in the fine-tune.
    REQUIRE(schedule.stages.size() == 4 * static_cast<std::size_t>(cycled) + (3 - cycled) + 1);
    for (std::size_t i = 0; i < schedule.stages.size(); ++i) {
      const auto& stage = schedule.stages[i];
      CAPTURE(i);
      if (stage.lr_stage < cycled) {
        // The cycled stages walk the same shapes as PySlowFast's.
        CHECK(stage.batch_factor == pyslowfast.stages[i].batch_factor);
        CHECK(stage.num_frames == pyslowfast.stages[i].num_frames);
        CHECK(stage.crop == pyslowfast.stages[i].crop);
      } else {
        CHECK(stage.batch_factor == 1);
        CHECK(stage.num_frames == 32);
        CHECK(stage.crop == 224);
        CHECK(stage.fine_tune == (stage.lr_stage == 3));
      }
      // One LR a stage: gamma^k, times the batch factor (the fine-tune's first half keeps the LR
      // of the stage before it).
      if (!stage.fine_tune) {
        CHECK(schedule.relative_lrs[i] ==
              doctest::Approx(std::pow(0.1, stage.lr_stage) * stage.batch_factor));
      }
    }
    // Still MAX_EPOCH * EPOCH_FACTOR = 358.5 epochs in all, rounded either way.
    CHECK(std::abs(schedule.max_epoch - 358.5) == 0.5);
    // A base-shape stage keeps the fine-tune's share of epochs per epoch of the original stage:
    // 196-154 = 42 original epochs for LR stage 2 against 239-196 = 43 for the fine-tune.
    const auto* stage2 = stage_of_lr_stage(schedule, 2);
    const auto* fine_tune = stage_of_lr_stage(schedule, 3);
    REQUIRE(stage2 != nullptr);
    REQUIRE(fine_tune != nullptr);
    CHECK(std::abs(stage2->epochs() * 43.0 / 42.0 - fine_tune->epochs()) <= 1.5);
  }
}

TEST_CASE("Fewer cycled LR stages cost more steps, and the base shape gets more of the run") {
  const auto kinetics = testing::kinetics_slowfast_multigrid();
  double previous_ratio = 1.0;
  int previous_base_epochs = 1 << 30;
  for (int cycled = 1; cycled <= 3; ++cycled) {
    CAPTURE(cycled);
    auto cfg = kinetics;
    cfg.multigrid.long_cycle_lr_stages = cycled;
    const double ratio = iteration_ratio(cfg);
    CHECK(ratio < previous_ratio);
    CHECK(ratio < 1.0);
    int base_epochs = 0;
    for (const auto& stage : make_epoch_schedule(cfg).stages) {
      if (stage.batch_factor == 1 && stage.num_frames == 32 && stage.crop == 224) {
        base_epochs += stage.epochs();
      }
    }
    CHECK(base_epochs < previous_base_epochs);
    previous_ratio = ratio;
    previous_base_epochs = base_epochs;
  }
}

TEST_CASE("LONG_CYCLE_LR_STAGES outside 0 to the LR stages before the fine-tune is refused") {
  auto cfg = testing::kinetics_slowfast_multigrid();
  for (int wrong : {-1, 4}) {
    CAPTURE(wrong);
    cfg.multigrid.long_cycle_lr_stages = wrong;
    const auto errors = validate(cfg);
    REQUIRE(errors.size() == 1);
    CHECK(errors[0].field == "MULTIGRID.LONG_CYCLE_LR_STAGES");
    CHECK(errors[0].to_string().find("from 1 to 3") != std::string::npos);
  }
  // A single LR stage is cycled whole: 1 is the only stage there is.
  cfg.solver.steps = {0};
  cfg.solver.lrs = {1};
  cfg.multigrid.long_cycle_lr_stages = 1;
  CHECK(validate(cfg).empty());
  cfg.multigrid.long_cycle_lr_stages = 2;
  CHECK(validate(cfg).size() == 1);
}
