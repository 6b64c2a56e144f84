#pragma once
// What a schedule costs in optimizer steps, against the standard schedule of the same
// configuration (the long and the short cycle off): the number multigrid's speed-up rests on.

#include <cstdint>

#include "multigrid/config.hpp"
#include "multigrid/epoch_schedule.hpp"
#include "multigrid/plan.hpp"
#include "multigrid/stage_settings.hpp"

namespace multigrid {

/// The same configuration with the long and the short cycle off.
inline config standard_counterpart(config cfg) {
  cfg.multigrid.long_cycle = false;
  cfg.multigrid.short_cycle = false;
  return cfg;
}

/// Iterations of the schedule over those of its standard counterpart for a training set of
/// `train_samples` clips, counted by the plans (batches that do not fill are dropped).
inline double iteration_ratio(const config& cfg, std::int64_t train_samples) {
  const plan schedule(cfg, train_samples);
  const plan standard(standard_counterpart(cfg), train_samples);
  return static_cast<double>(schedule.total_iterations()) /
         static_cast<double>(standard.total_iterations());
}

/// The same for a training set large enough that rounding to whole batches does not matter.
inline double iteration_ratio(const config& cfg) {
  const auto schedule = make_epoch_schedule(cfg);
  const auto all_settings = make_all_stage_settings(cfg, schedule);
  double iterations = 0;  // in units of training-set size
  for (std::size_t i = 0; i < schedule.stages.size(); ++i) {
    const auto& stage = schedule.stages[i];
    const auto& settings = all_settings[i];
    double clips = 0;
    for (int m = 0; m < settings.cycle_length; ++m) clips += settings.cycle[m].global_batch;
    iterations += stage.epochs() / (clips / settings.cycle_length);
  }
  const auto standard = make_epoch_schedule(standard_counterpart(cfg));
  return iterations / (static_cast<double>(standard.max_epoch) / cfg.batch_size);
}

/// The epochs of the standard counterpart that take as many steps as `iteration_ratio` of its
/// own: multigrid's budget in the terms a user of the standard schedule knows.
inline double standard_epochs_for_steps(const config& cfg, double iteration_ratio) {
  return iteration_ratio * make_epoch_schedule(standard_counterpart(cfg)).max_epoch;
}

}  // namespace multigrid
