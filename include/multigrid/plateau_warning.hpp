#pragma once
// A run still on its loss plateau when its first LR stage ends, said while it trains. Before
// training nothing shows it: how long a plateau lasts depends on the data, and schedules with the
// same steps an epoch left it on one set and not on another (docs/training.md, "Why multigrid
// collapsed on small motion sets"). At the first LR drop it shows: on the motion sets there, no
// run whose training loss was still near chance at that point caught up with the runs that had
// left the plateau, since the lower LRs that follow teach less per step.

#include <cmath>
#include <optional>
#include <string>

#include "multigrid/config.hpp"
#include "multigrid/detail/format.hpp"
#include "multigrid/epoch_schedule.hpp"

namespace multigrid {

struct plateau_limits {
  /// A mean training loss at or above this share of chance's cross-entropy (ln of the number of
  /// classes) is still on the plateau; compare_schedules.py reads "left the plateau" the same way.
  double chance_share = 0.8;
};

/// The epoch (exclusive) where the first LR stage ends: where the LR is first divided, not where
/// the long cycle's batch scaling lowers it within the stage. None for a cosine policy, which has
/// no stages, or where the run has one LR stage.
inline std::optional<int> first_lr_stage_end(const config& cfg, const epoch_schedule& schedule) {
  if (cfg.multigrid.long_cycle) {
    for (const auto& stage : schedule.stages) {
      if (stage.lr_stage > 0) return stage.begin_epoch;
    }
    return std::nullopt;
  }
  if (cfg.solver.policy == lr_policy::cosine || cfg.solver.policy == lr_policy::cosine_batch_scaled)
    return std::nullopt;
  if (schedule.steps.size() < 2 || schedule.steps[1] <= 0 ||
      schedule.steps[1] >= schedule.max_epoch)
    return std::nullopt;
  return schedule.steps[1];
}

/// The warning for a run whose epoch `epoch` (counted from 0) ended with `mean_loss`, the mean
/// training cross-entropy over the epoch, or none. Only the last epoch of the first LR stage is
/// judged: earlier, a plateau may still end; later, the advice comes too late to save time.
inline std::optional<std::string> plateau_warning(const config& cfg, const epoch_schedule& schedule,
                                                  int epoch, double mean_loss, int num_classes,
                                                  const plateau_limits& limits = {}) {
  const auto end = first_lr_stage_end(cfg, schedule);
  if (!end || epoch + 1 != *end || num_classes < 2 || !std::isfinite(mean_loss)) {
    return std::nullopt;
  }
  const double chance = std::log(static_cast<double>(num_classes));
  const double limit = limits.chance_share * chance;
  if (mean_loss < limit) return std::nullopt;
  const auto rounded = [](double value) {
    return detail::format_number(std::round(value * 100) / 100);
  };
  std::string advice = "more steps let such runs leave it: train longer (SOLVER.MAX_EPOCH)";
  if (cfg.multigrid.long_cycle) {
    advice +=
        ", or without the long cycle (MULTIGRID.LONG_CYCLE False), whose base shape learns "
        "more per step";
  }
  return "after epoch " + std::to_string(epoch + 1) + " of " + std::to_string(schedule.max_epoch) +
         ", where the first LR stage ends, the training loss is " + rounded(mean_loss) +
         ", still on the plateau at chance (" + detail::format_number(limits.chance_share) +
         " x ln " + std::to_string(num_classes) + " = " + rounded(limit) +
         "); runs still there at this point ended far behind those that had left it (" +
         "docs/training.md); " + advice;
}

}  // namespace multigrid
