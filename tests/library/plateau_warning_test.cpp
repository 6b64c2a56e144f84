// The warning for a run still on its loss plateau when the first LR stage ends
// (docs/training.md, "Why multigrid collapsed on small motion sets").

#include <doctest/doctest.h>

#include <cmath>
#include <multigrid/epoch_schedule.hpp>
#include <multigrid/plateau_warning.hpp>
#include <string>

#include "kinetics_config.hpp"

using namespace multigrid;

namespace {

std::optional<int> first_stage_end(const config& cfg) {
  return first_lr_stage_end(cfg, make_epoch_schedule(cfg));
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

}  // namespace

TEST_CASE("The first LR stage ends where the LR is first divided, with or without the cycles") {
  auto cfg = testing::kinetics_slowfast_multigrid();
  // PySlowFast's STEPS for this config are 0, 73, 110, 142, 158, 205, ...: four shapes at the
  // first LR, then the long cycle starts again at a tenth of it.
  CHECK(first_stage_end(cfg) == 158);
  cfg.multigrid.long_cycle = false;
  // The short cycle alone stretches SOLVER.STEPS by EPOCH_FACTOR 1.5, truncated: 94 -> 141.
  CHECK(first_stage_end(cfg) == 141);
  cfg.multigrid.short_cycle = false;
  CHECK(first_stage_end(cfg) == 94);

  SUBCASE("a cosine policy has no stages") {
    cfg.solver.policy = lr_policy::cosine;
    CHECK_FALSE(first_stage_end(cfg).has_value());
  }
  SUBCASE("one LR stage has no end before the run's") {
    cfg.solver.steps = {0};
    cfg.solver.lrs = {1};
    CHECK_FALSE(first_stage_end(cfg).has_value());
  }
}

TEST_CASE("A run at chance loss when its first LR stage ends is warned about, once") {
  auto cfg = testing::kinetics_slowfast_multigrid();
  const auto schedule = make_epoch_schedule(cfg);
  const double chance = std::log(400.0);

  // Epoch 157 (from 0) is the last of the first LR stage.
  const auto warning = plateau_warning(cfg, schedule, 157, 0.95 * chance, 400);
  REQUIRE(warning.has_value());
  INFO(*warning);
  CHECK(contains(*warning, "after epoch 158 of 358"));
  CHECK(contains(*warning, "the training loss is 5.69"));
  CHECK(contains(*warning, "0.8 x ln 400 = 4.79"));
  CHECK(contains(*warning, "SOLVER.MAX_EPOCH"));
  CHECK(contains(*warning, "MULTIGRID.LONG_CYCLE False"));

  // Any other epoch, or a loss that has left the plateau, says nothing.
  CHECK_FALSE(plateau_warning(cfg, schedule, 156, chance, 400).has_value());
  CHECK_FALSE(plateau_warning(cfg, schedule, 158, chance, 400).has_value());
  CHECK_FALSE(plateau_warning(cfg, schedule, 157, 0.79 * chance, 400).has_value());
  CHECK(plateau_warning(cfg, schedule, 157, 0.8 * chance, 400).has_value());
  CHECK_FALSE(plateau_warning(cfg, schedule, 157, std::nan(""), 400).has_value());

  SUBCASE("without the long cycle the advice is to train longer") {
    cfg.multigrid.long_cycle = false;
    cfg.multigrid.short_cycle = false;
    const auto standard = plateau_warning(cfg, make_epoch_schedule(cfg), 93, chance, 400);
    REQUIRE(standard.has_value());
    CHECK(contains(*standard, "after epoch 94 of 239"));
    CHECK(contains(*standard, "SOLVER.MAX_EPOCH"));
    CHECK_FALSE(contains(*standard, "MULTIGRID.LONG_CYCLE"));
  }
  SUBCASE("the share of chance is a limit the caller can set") {
    CHECK_FALSE(plateau_warning(cfg, schedule, 157, 0.85 * chance, 400, {0.9}).has_value());
    CHECK(plateau_warning(cfg, schedule, 157, 0.85 * chance, 400, {0.5}).has_value());
  }
}
