#pragma once
// The plan: everything a trainer needs at any iteration, as a pure function of the configuration
// and the size of the training set. Built once (the only allocation); every query is a binary
// search over the stages, so resuming at iteration 1,000,000 is a lookup, not a replay.

#include <algorithm>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "multigrid/config.hpp"
#include "multigrid/epoch_schedule.hpp"
#include "multigrid/learning_rate.hpp"
#include "multigrid/short_cycle_sampler.hpp"
#include "multigrid/stage_settings.hpp"
#include "multigrid/validation.hpp"

namespace multigrid {

/// One stage of the plan: the schedule's stage, what it trains with, and where it lies in
/// iterations. Iterations are per process (every process runs the same number).
struct plan_stage {
  schedule_stage schedule;
  stage_settings settings;
  std::int64_t iterations_per_epoch = 0;
  std::int64_t first_iteration = 0;  ///< global iteration of the stage's first batch

  std::int64_t iterations() const noexcept { return iterations_per_epoch * schedule.epochs(); }
};

/// Everything about one iteration.
struct iteration_plan {
  int epoch = 0;
  std::int64_t iteration = 0;         ///< within the epoch
  std::int64_t global_iteration = 0;  ///< since the start of training
  std::int64_t iterations_in_epoch = 0;
  double epoch_position = 0;  ///< epoch + iteration / iterations_in_epoch: what the LR is taken at
  double lr = 0;
  int stage = 0;              ///< index into plan::stages()
  bool stage_begins = false;  ///< first iteration of the stage: apply its batch, BN mode and shape
  int shape_index = 0;        ///< index into the stage's cycle of shapes
  clip_shape shape;           ///< this batch's shape (short cycle applied)
  const stage_settings* settings = nullptr;  ///< the stage's settings, owned by the plan
};

class plan {
 public:
  /// `train_samples`: size of the training set, shared by all NUM_GPUS processes.
  /// Throws invalid_config when the configuration does not validate or a stage would have no
  /// iterations because its per-process batch exceeds the process's share of the data.
  plan(const config& cfg, std::int64_t train_samples)
      : config_(cfg),
        schedule_(make_epoch_schedule(cfg)),
        learning_rate_(cfg, schedule_),
        train_samples_(train_samples) {
    if (train_samples < 0) {
      throw invalid_config(
          {{"training samples", std::to_string(train_samples), "must not be negative"}});
    }
    const auto per_rank = rank_shard_size(static_cast<std::size_t>(train_samples), cfg.devices());
    std::int64_t iteration = 0;
    std::vector<config_error> errors;
    const auto settings = make_all_stage_settings(cfg, schedule_);
    for (std::size_t i = 0; i < schedule_.stages.size(); ++i) {
      plan_stage stage;
      stage.schedule = schedule_.stages[i];
      stage.settings = settings[i];
      std::array<int, 3> sizes{};
      for (int m = 0; m < stage.settings.cycle_length; ++m) {
        sizes[m] = stage.settings.cycle[m].per_gpu_batch;
      }
      stage.iterations_per_epoch = static_cast<std::int64_t>(
          batches_in_epoch(per_rank, sizes.data(), stage.settings.cycle_length));
      stage.first_iteration = iteration;
      iteration += stage.iterations();
      if (!stage.schedule.empty() && stage.iterations_per_epoch == 0) {
        errors.push_back({"training samples", std::to_string(train_samples),
                          "too few for stage " + std::to_string(i) + ": " +
                              std::to_string(per_rank) +
                              " per process, less than the epoch's first batch of " +
                              std::to_string(stage.settings.cycle[0].per_gpu_batch) + " clips"});
      }
      stages_.push_back(stage);
      if (!stage.schedule.empty()) {
        nonempty_first_epoch_.push_back(stage.schedule.begin_epoch);
        nonempty_first_iteration_.push_back(stage.first_iteration);
        nonempty_index_.push_back(static_cast<int>(i));
      }
    }
    if (!errors.empty()) throw invalid_config(std::move(errors));
    total_iterations_ = iteration;
  }

  const config& configuration() const noexcept { return config_; }
  const epoch_schedule& schedule() const noexcept { return schedule_; }
  const learning_rate_schedule& learning_rate() const noexcept { return learning_rate_; }
  const std::vector<plan_stage>& stages() const noexcept { return stages_; }
  std::int64_t train_samples() const noexcept { return train_samples_; }
  int epochs() const noexcept { return schedule_.max_epoch; }
  std::int64_t total_iterations() const noexcept { return total_iterations_; }

  /// Index of the stage that trains `epoch` (never an empty one).
  int stage_of_epoch(int epoch) const {
    check_epoch(epoch);
    return nonempty_index_[find(nonempty_first_epoch_, epoch)];
  }

  std::int64_t iterations_in_epoch(int epoch) const {
    return stages_[static_cast<std::size_t>(stage_of_epoch(epoch))].iterations_per_epoch;
  }

  /// Global iteration of the first batch of `epoch`; epochs() gives total_iterations().
  std::int64_t first_iteration_of_epoch(int epoch) const {
    if (epoch == epochs()) return total_iterations_;
    const auto& stage = stages_[static_cast<std::size_t>(stage_of_epoch(epoch))];
    return stage.first_iteration + static_cast<std::int64_t>(epoch - stage.schedule.begin_epoch) *
                                       stage.iterations_per_epoch;
  }

  /// The LR at a fractional epoch.
  double lr_at(double epoch) const noexcept { return learning_rate_.at(epoch); }

  /// Iteration `iteration` of `epoch`.
  iteration_plan at(int epoch, std::int64_t iteration) const {
    const int stage_index = stage_of_epoch(epoch);
    const auto& stage = stages_[static_cast<std::size_t>(stage_index)];
    if (iteration < 0 || iteration >= stage.iterations_per_epoch) {
      throw std::out_of_range("multigrid::plan: iteration " + std::to_string(iteration) +
                              " is outside epoch " + std::to_string(epoch) + " (" +
                              std::to_string(stage.iterations_per_epoch) + " iterations)");
    }
    return describe(stage_index, epoch, iteration);
  }

  /// The iteration at a global position, 0 <= global_iteration < total_iterations().
  iteration_plan at(std::int64_t global_iteration) const {
    if (global_iteration < 0 || global_iteration >= total_iterations_) {
      throw std::out_of_range("multigrid::plan: global iteration " +
                              std::to_string(global_iteration) + " is outside [0, " +
                              std::to_string(total_iterations_) + ")");
    }
    const int stage_index = nonempty_index_[find(nonempty_first_iteration_, global_iteration)];
    const auto& stage = stages_[static_cast<std::size_t>(stage_index)];
    const std::int64_t offset = global_iteration - stage.first_iteration;
    const int epoch =
        stage.schedule.begin_epoch + static_cast<int>(offset / stage.iterations_per_epoch);
    return describe(stage_index, epoch, offset % stage.iterations_per_epoch);
  }

 private:
  template <class T>
  static std::size_t find(const std::vector<T>& firsts, T value) {
    const auto it = std::upper_bound(firsts.begin(), firsts.end(), value);
    return static_cast<std::size_t>(it - firsts.begin()) - 1;
  }

  void check_epoch(int epoch) const {
    if (epoch < 0 || epoch >= epochs()) {
      throw std::out_of_range("multigrid::plan: epoch " + std::to_string(epoch) +
                              " is outside [0, " + std::to_string(epochs()) + ")");
    }
  }

  iteration_plan describe(int stage_index, int epoch, std::int64_t iteration) const {
    const auto& stage = stages_[static_cast<std::size_t>(stage_index)];
    iteration_plan step;
    step.epoch = epoch;
    step.iteration = iteration;
    step.iterations_in_epoch = stage.iterations_per_epoch;
    step.global_iteration =
        stage.first_iteration +
        static_cast<std::int64_t>(epoch - stage.schedule.begin_epoch) * stage.iterations_per_epoch +
        iteration;
    step.epoch_position =
        epoch + static_cast<double>(iteration) / static_cast<double>(stage.iterations_per_epoch);
    step.lr = learning_rate_.at(step.epoch_position);
    step.stage = stage_index;
    step.stage_begins = step.global_iteration == stage.first_iteration;
    step.shape_index = static_cast<int>(iteration % stage.settings.cycle_length);
    step.shape = stage.settings.cycle[static_cast<std::size_t>(step.shape_index)];
    step.settings = &stage.settings;
    return step;
  }

  config config_;
  epoch_schedule schedule_;
  learning_rate_schedule learning_rate_;
  std::int64_t train_samples_ = 0;
  std::vector<plan_stage> stages_;
  std::vector<int> nonempty_first_epoch_;
  std::vector<std::int64_t> nonempty_first_iteration_;
  std::vector<int> nonempty_index_;
  std::int64_t total_iterations_ = 0;
};

}  // namespace multigrid
