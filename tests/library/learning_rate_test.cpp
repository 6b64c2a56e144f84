#include <doctest/doctest.h>

#include <cmath>
#include <multigrid/epoch_schedule.hpp>
#include <multigrid/learning_rate.hpp>

#include "kinetics_config.hpp"

using namespace multigrid;

namespace {
learning_rate_schedule lr_of(const config& cfg) {
  return learning_rate_schedule(cfg, make_epoch_schedule(cfg));
}
}  // namespace

TEST_CASE("Kinetics: warm-up from 0.01 to the 8x LR of the first stage over 34 epochs") {
  const auto lr = lr_of(testing::kinetics_slowfast_multigrid());
  CHECK(lr.at(0) == doctest::Approx(0.01));
  // Linear to lr(34) = 0.1 * 8 = 0.8, evaluated at fractional epochs.
  CHECK(lr.at(17) == doctest::Approx(0.01 + 17 * (0.8 - 0.01) / 34));
  CHECK(lr.at(0.25) == doctest::Approx(0.01 + 0.25 * (0.8 - 0.01) / 34));
  CHECK(lr.at(33.999) == doctest::Approx(0.8).epsilon(1e-4));
  CHECK(lr.at(34) == doctest::Approx(0.8));
}

TEST_CASE("Kinetics: the stepwise LR of every interval of the new STEPS") {
  const auto lr = lr_of(testing::kinetics_slowfast_multigrid());
  CHECK(lr.at(72.9) == doctest::Approx(0.8));
  CHECK(lr.at(73) == doctest::Approx(0.4));
  CHECK(lr.at(110) == doctest::Approx(0.2));
  CHECK(lr.at(142) == doctest::Approx(0.1));
  CHECK(lr.at(158) == doctest::Approx(0.08));
  CHECK(lr.at(258.5) == doctest::Approx(0.01));
  CHECK(lr.at(259) == doctest::Approx(0.008));
  CHECK(lr.at(328) == doctest::Approx(0.001));
  CHECK(lr.at(329) == doctest::Approx(0.001));  // fine-tune, first half
  CHECK(lr.at(342.9) == doctest::Approx(0.001));
  CHECK(lr.at(343) == doctest::Approx(0.0001));  // fine-tune, second half
  CHECK(lr.at(357.99) == doctest::Approx(0.0001));
  CHECK(lr.at(400) == doctest::Approx(0.0001));  // past the end: the last LR, as PySlowFast
}

TEST_CASE("An empty stage's LR is skipped, as PySlowFast's step search does") {
  const auto lr = lr_of(testing::ssv2_slowfast_multigrid());
  // STEPS ... 28, 30, 30, 31: at 30 the later of the two equal steps applies.
  CHECK(lr.at(29) == doctest::Approx(0.03 * 0.2));
  CHECK(lr.at(30) == doctest::Approx(0.03 * 0.1));
  CHECK(lr.at(31) == doctest::Approx(0.03 * 0.01));
}

TEST_CASE("The LR is continuous at the end of warm-up for every policy") {
  for (auto policy : {lr_policy::cosine, lr_policy::cosine_batch_scaled, lr_policy::steps,
                      lr_policy::steps_with_relative_lrs}) {
    CAPTURE(lr_policy_name(policy));
    auto cfg = testing::kinetics_slowfast_multigrid();
    cfg.solver.policy = policy;
    const auto lr = lr_of(cfg);
    CHECK(lr.at(34 - 1e-9) == doctest::Approx(lr.at(34)).epsilon(1e-6));
  }
}

TEST_CASE("cosine follows PySlowFast and ignores the batch factor") {
  auto cfg = testing::kinetics_slowfast_multigrid();
  cfg.solver.policy = lr_policy::cosine;
  cfg.solver.warmup_epochs = 0;
  cfg.solver.cosine_end_lr = 0.001;
  const auto lr = lr_of(cfg);
  const double pi = std::acos(-1.0);
  for (double epoch : {0.0, 10.5, 179.0, 300.0, 357.0}) {
    CAPTURE(epoch);
    const double expected = 0.001 + (0.1 - 0.001) * (std::cos(pi * epoch / 358) + 1) * 0.5;
    CHECK(lr.at(epoch) == doctest::Approx(expected));
  }
}

TEST_CASE("cosine after warm-up starts the cosine at the end of warm-up") {
  auto cfg = testing::kinetics_slowfast_multigrid();
  cfg.solver.policy = lr_policy::cosine;
  cfg.solver.cosine_after_warmup = true;
  const auto lr = lr_of(cfg);
  CHECK(lr.at(34) == doctest::Approx(0.1));
  CHECK(lr.at(196) == doctest::Approx(0.05));
  CHECK(lr.at(0) == doctest::Approx(0.01));
}

TEST_CASE("cosine_batch_scaled multiplies the cosine by the stage's batch factor") {
  auto cfg = testing::kinetics_slowfast_multigrid();
  cfg.solver.warmup_epochs = 0;
  cfg.solver.policy = lr_policy::cosine;
  const auto plain = lr_of(cfg);
  cfg.solver.policy = lr_policy::cosine_batch_scaled;
  const auto scaled = lr_of(cfg);
  CHECK(scaled.at(10) == doctest::Approx(8 * plain.at(10)));
  CHECK(scaled.at(80) == doctest::Approx(4 * plain.at(80)));
  CHECK(scaled.at(120) == doctest::Approx(2 * plain.at(120)));
  CHECK(scaled.at(150) == doctest::Approx(plain.at(150)));
  CHECK(scaled.at(350) == doctest::Approx(plain.at(350)));
  CHECK(scaled.batch_factor_at(72.99) == 8);
  CHECK(scaled.batch_factor_at(73) == 4);
}

TEST_CASE("steps derives relative LRs from GAMMA without multigrid") {
  auto cfg = testing::kinetics_slowfast_multigrid();
  cfg.multigrid.long_cycle = false;
  cfg.multigrid.short_cycle = false;
  cfg.solver.policy = lr_policy::steps;
  cfg.solver.gamma = 0.5;
  cfg.solver.warmup_epochs = 0;
  const auto lr = lr_of(cfg);
  CHECK(lr.at(0) == doctest::Approx(0.1));
  CHECK(lr.at(94) == doctest::Approx(0.05));
  CHECK(lr.at(154) == doctest::Approx(0.025));
  CHECK(lr.at(238) == doctest::Approx(0.0125));
}

TEST_CASE("steps_with_relative_lrs uses LRS without multigrid") {
  auto cfg = testing::kinetics_slowfast_multigrid();
  cfg.multigrid.long_cycle = false;
  cfg.multigrid.short_cycle = false;
  cfg.solver.warmup_epochs = 0;
  const auto lr = lr_of(cfg);
  CHECK(lr.at(93.9) == doctest::Approx(0.1));
  CHECK(lr.at(94) == doctest::Approx(0.01));
  CHECK(lr.at(200) == doctest::Approx(0.0001));
}

TEST_CASE("Under the long cycle steps and steps_with_relative_lrs agree") {
  auto cfg = testing::kinetics_slowfast_multigrid();
  const auto relative = lr_of(cfg);
  cfg.solver.policy = lr_policy::steps;
  const auto steps = lr_of(cfg);
  for (double epoch = 0; epoch < 358; epoch += 0.37) {
    CAPTURE(epoch);
    CHECK(steps.at(epoch) == doctest::Approx(relative.at(epoch)));
  }
}
