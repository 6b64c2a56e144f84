#pragma once
// The learning rate at a fractional epoch, as PySlowFast's utils/lr_policy.py computes it: a policy
// (stepwise relative LRs or cosine) plus a linear warm-up that ends at the policy's value at
// WARMUP_EPOCHS. The trainer asks at epoch + iteration / iterations_in_epoch, every iteration.

#include <algorithm>
#include <cmath>
#include <vector>

#include "multigrid/config.hpp"
#include "multigrid/epoch_schedule.hpp"

namespace multigrid {

class learning_rate_schedule {
 public:
  learning_rate_schedule(const config& cfg, const epoch_schedule& schedule)
      : solver_(cfg.solver),
        steps_(schedule.steps),
        relative_lrs_(schedule.relative_lrs),
        max_epoch_(schedule.max_epoch) {
    for (const auto& stage : schedule.stages) {
      if (stage.empty()) continue;
      stage_begin_.push_back(stage.begin_epoch);
      stage_batch_factor_.push_back(stage.batch_factor);
    }
    // Only the schedule's values are used: free the user's lists.
    solver_.steps.clear();
    solver_.lrs.clear();
  }

  /// The LR at a fractional epoch, warm-up included.
  double at(double epoch) const noexcept {
    const double lr = policy_at(epoch);
    if (epoch >= solver_.warmup_epochs) return lr;
    const double end = policy_at(solver_.warmup_epochs);
    const double slope = (end - solver_.warmup_start_lr) / solver_.warmup_epochs;
    return epoch * slope + solver_.warmup_start_lr;
  }

  /// The policy's LR without warm-up.
  double policy_at(double epoch) const noexcept {
    switch (solver_.policy) {
      case lr_policy::steps:
      case lr_policy::steps_with_relative_lrs:
        return solver_.base_lr * relative_lr_at(epoch);
      case lr_policy::cosine:
        return cosine_at(epoch);
      case lr_policy::cosine_batch_scaled:
        return cosine_at(epoch) * batch_factor_at(epoch);
    }
    return 0;
  }

  /// Global batch relative to TRAIN.BATCH_SIZE at a fractional epoch.
  int batch_factor_at(double epoch) const noexcept {
    if (stage_begin_.empty()) return 1;
    const auto it = std::upper_bound(stage_begin_.begin(), stage_begin_.end(), epoch);
    const auto index = it == stage_begin_.begin() ? 0 : (it - stage_begin_.begin()) - 1;
    return stage_batch_factor_[static_cast<std::size_t>(index)];
  }

 private:
  // Index of the interval of STEPS + [MAX_EPOCH] that holds the epoch; past the end, the last one.
  double relative_lr_at(double epoch) const noexcept {
    if (steps_.empty() || relative_lrs_.empty()) return 1.0;
    const auto it = std::upper_bound(steps_.begin(), steps_.end(), epoch);
    std::size_t index =
        it == steps_.begin() ? 0 : static_cast<std::size_t>(it - steps_.begin()) - 1;
    index = std::min(index, relative_lrs_.size() - 1);
    return relative_lrs_[index];
  }

  double cosine_at(double epoch) const noexcept {
    const double offset = solver_.cosine_after_warmup ? solver_.warmup_epochs : 0.0;
    const double pi = std::acos(-1.0);
    return solver_.cosine_end_lr +
           (solver_.base_lr - solver_.cosine_end_lr) *
               (std::cos(pi * (epoch - offset) / (max_epoch_ - offset)) + 1.0) * 0.5;
  }

  solver_settings solver_;
  std::vector<int> steps_;
  std::vector<double> relative_lrs_;
  int max_epoch_ = 0;
  std::vector<int> stage_begin_;
  std::vector<int> stage_batch_factor_;
};

}  // namespace multigrid
