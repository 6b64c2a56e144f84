#include <doctest/doctest.h>

#include <multigrid/evaluation_schedule.hpp>
#include <vector>

#include "kinetics_config.hpp"

using namespace multigrid;

namespace {
std::vector<int> evaluation_epochs(const config& cfg, int period) {
  const auto schedule = make_epoch_schedule(cfg);
  std::vector<int> epochs;
  for (int epoch = 0; epoch < schedule.max_epoch; ++epoch) {
    if (is_evaluation_epoch(cfg, schedule, epoch, period)) epochs.push_back(epoch);
  }
  return epochs;
}
}  // namespace

TEST_CASE("With the long cycle, EVAL_FREQ evaluations per stage ending at its last epoch") {
  const auto epochs = evaluation_epochs(testing::kinetics_slowfast_multigrid(), 10);
  // Stage 0 (0-73): period 73 // 3 + 1 = 25, counted back from epoch 72: 22, 47, 72.
  CHECK(epochs[0] == 22);
  CHECK(epochs[1] == 47);
  CHECK(epochs[2] == 72);
  // Stage 1 (73-110): period 37 // 3 + 1 = 13: 83, 96, 109.
  CHECK(epochs[3] == 83);
  CHECK(epochs[4] == 96);
  CHECK(epochs[5] == 109);
  CHECK(epochs.back() == 357);
}

TEST_CASE("Without the long cycle, every TRAIN.EVAL_PERIOD epochs and the last") {
  auto cfg = testing::kinetics_slowfast_multigrid();
  cfg.multigrid.long_cycle = false;
  const auto epochs = evaluation_epochs(cfg, 10);
  CHECK(epochs.front() == 9);
  CHECK(epochs[1] == 19);
  CHECK(epochs.back() == 357);  // 358 epochs with the short cycle alone
  CHECK(evaluation_epochs(cfg, 0) == std::vector<int>{357});
}

TEST_CASE("Precise BN runs after evaluation and checkpoint epochs only, as in PySlowFast") {
  auto cfg = testing::kinetics_slowfast_multigrid();
  cfg.multigrid.long_cycle = false;
  const auto schedule = make_epoch_schedule(cfg);
  // TRAIN.EVAL_PERIOD 10, TRAIN.CHECKPOINT_PERIOD 4.
  CHECK(is_precise_batch_norm_epoch(cfg, schedule, 9, 10, 4));  // evaluation
  CHECK(is_precise_batch_norm_epoch(cfg, schedule, 3, 10, 4));  // checkpoint
  CHECK_FALSE(is_precise_batch_norm_epoch(cfg, schedule, 4, 10, 4));
  CHECK(is_precise_batch_norm_epoch(cfg, schedule, schedule.max_epoch - 1, 1000, 1000));
  int count = 0;
  for (int epoch = 0; epoch < schedule.max_epoch; ++epoch) {
    count += is_precise_batch_norm_epoch(cfg, schedule, epoch, 10, 4) ? 1 : 0;
  }
  CHECK(count < schedule.max_epoch / 2);
}
