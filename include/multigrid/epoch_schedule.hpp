#pragma once
// The epoch-level schedule: the stages (one shape each), the LR steps, the relative LRs and the
// number of epochs, for every combination of long and short cycle.

#include <cmath>
#include <cstddef>
#include <vector>

#include "multigrid/config.hpp"
#include "multigrid/long_cycle.hpp"
#include "multigrid/validation.hpp"

namespace multigrid {

/// A run of epochs trained at one long-cycle shape. With the long cycle off there is one stage, at
/// the base shape, over all epochs. A stage can be empty (begin == end) where the reference's
/// rounding gives a shape no epochs; it stays in the list so that indices match the reference.
struct schedule_stage {
  int lr_stage = 0;      ///< interval of the original SOLVER.STEPS
  int begin_epoch = 0;   ///< inclusive
  int end_epoch = 0;     ///< exclusive
  int batch_factor = 1;  ///< global batch relative to TRAIN.BATCH_SIZE
  int num_frames = 0;
  int crop = 0;
  bool fine_tune = false;

  int epochs() const noexcept { return end_epoch - begin_epoch; }
  bool empty() const noexcept { return end_epoch <= begin_epoch; }
};

struct epoch_schedule {
  std::vector<schedule_stage> stages;
  std::vector<int> steps;            ///< SOLVER.STEPS as the run uses them
  std::vector<double> relative_lrs;  ///< SOLVER.LRS as the run uses them (stepwise policies)
  int max_epoch = 0;                 ///< SOLVER.MAX_EPOCH as the run uses it
};

namespace detail {

inline epoch_schedule long_cycle_schedule(const config& cfg) {
  epoch_schedule schedule;
  const auto entries = long_cycle_entries(cfg);
  int begin = 0;
  for (const auto& entry : entries) {
    schedule.stages.push_back({entry.lr_stage, begin, entry.end_epoch, entry.batch_factor,
                               entry.num_frames, entry.crop, entry.fine_tune});
    begin = entry.end_epoch;
  }
  schedule.max_epoch = entries.back().end_epoch;

  schedule.steps.push_back(0);
  for (const auto& entry : entries) schedule.steps.push_back(entry.end_epoch);
  schedule.steps.pop_back();  // the last end is MAX_EPOCH, not a step
  for (const auto& entry : entries) {
    schedule.relative_lrs.push_back(std::pow(cfg.solver.gamma, entry.lr_stage) *
                                    entry.batch_factor);
  }
  if (entries.back().fine_tune) {
    // The fine-tune is split in two halves: the first keeps the LR of the stage before it, the
    // second decays once more. PySlowFast floors the midpoint.
    const int previous_end = entries.size() > 1 ? entries[entries.size() - 2].end_epoch : 0;
    schedule.steps.push_back((previous_end + schedule.max_epoch) / 2);
    const double fine_tune_lr = schedule.relative_lrs.back();
    schedule.relative_lrs.back() =
        entries.size() > 1 ? schedule.relative_lrs[schedule.relative_lrs.size() - 2] : fine_tune_lr;
    schedule.relative_lrs.push_back(fine_tune_lr);
  }
  return schedule;
}

inline std::vector<double> stepwise_relative_lrs(const config& cfg, std::size_t count) {
  if (cfg.solver.policy == lr_policy::steps_with_relative_lrs) return cfg.solver.lrs;
  std::vector<double> lrs;
  for (std::size_t i = 0; i < count; ++i) {
    lrs.push_back(std::pow(cfg.solver.gamma, static_cast<double>(i)));
  }
  return lrs;
}

}  // namespace detail

/// The schedule of a configuration; throws invalid_config if the configuration does not validate.
inline epoch_schedule make_epoch_schedule(const config& cfg) {
  throw_if_invalid(cfg);
  if (cfg.multigrid.long_cycle) return detail::long_cycle_schedule(cfg);

  epoch_schedule schedule;
  schedule.steps = cfg.solver.steps;
  schedule.max_epoch = cfg.solver.max_epoch;
  if (cfg.multigrid.short_cycle) {
    // The short cycle alone trains EPOCH_FACTOR times the epochs; PySlowFast truncates.
    const double factor = cfg.multigrid.epoch_factor;
    for (int& step : schedule.steps) step = static_cast<int>(step * factor);
    schedule.max_epoch = static_cast<int>(schedule.max_epoch * factor);
  }
  schedule.relative_lrs = detail::stepwise_relative_lrs(cfg, schedule.steps.size());
  schedule.stages.push_back(
      {0, 0, schedule.max_epoch, 1, cfg.data.num_frames, cfg.data.train_crop_size, false});
  return schedule;
}

}  // namespace multigrid
