#pragma once
// When to evaluate and when to keep a checkpoint. Multigrid epochs are not proportional to time or
// compute, so a fixed period evaluates far too often in coarse stages and too rarely in fine ones;
// PySlowFast instead evaluates (and checkpoints) MULTIGRID.EVAL_FREQ times per long-cycle stage,
// the last at the stage's last epoch. Precise BN runs only after such epochs, as in PySlowFast:
// with small epochs it would otherwise cost more than the training.

#include "multigrid/config.hpp"
#include "multigrid/epoch_schedule.hpp"

namespace multigrid {
namespace detail {

/// PySlowFast's is_eval_epoch and is_checkpoint_epoch: always after the last epoch; with the long
/// cycle every max((stage length) // EVAL_FREQ + 1, 1) epochs counted back from the stage's last
/// epoch; otherwise every `period` epochs (0 or less: only after the last epoch).
inline bool is_periodic_epoch(const config& cfg, const epoch_schedule& schedule, int epoch,
                              int period) noexcept {
  if (epoch + 1 == schedule.max_epoch) return true;
  if (cfg.multigrid.long_cycle) {
    for (const auto& stage : schedule.stages) {
      if (epoch < stage.end_epoch) {
        const int frequency = cfg.multigrid.eval_freq > 0 ? cfg.multigrid.eval_freq : 1;
        int stage_period = stage.epochs() / frequency + 1;
        if (stage_period < 1) stage_period = 1;
        return (stage.end_epoch - 1 - epoch) % stage_period == 0;
      }
    }
  }
  return period > 0 && (epoch + 1) % period == 0;
}

}  // namespace detail

/// Whether to evaluate after `epoch` (0-based); `period` is TRAIN.EVAL_PERIOD.
inline bool is_evaluation_epoch(const config& cfg, const epoch_schedule& schedule, int epoch,
                                int period) noexcept {
  return detail::is_periodic_epoch(cfg, schedule, epoch, period);
}

/// Whether to keep a checkpoint after `epoch`; `period` is TRAIN.CHECKPOINT_PERIOD.
inline bool is_checkpoint_epoch(const config& cfg, const epoch_schedule& schedule, int epoch,
                                int period) noexcept {
  return detail::is_periodic_epoch(cfg, schedule, epoch, period);
}

/// Whether precise BN runs after `epoch`: PySlowFast runs it after evaluation and checkpoint
/// epochs.
inline bool is_precise_batch_norm_epoch(const config& cfg, const epoch_schedule& schedule,
                                        int epoch, int eval_period,
                                        int checkpoint_period) noexcept {
  return is_evaluation_epoch(cfg, schedule, epoch, eval_period) ||
         is_checkpoint_epoch(cfg, schedule, epoch, checkpoint_period);
}

}  // namespace multigrid
