#pragma once
// Where a schedule is in the region where multigrid was seen to fail, said before training: crops
// too small for the model to see motion, too few frames, too few optimizer steps an epoch. The
// limits come from the runs in docs/training.md ("Why multigrid collapsed on small motion sets");
// the model's stride comes from the caller, since the library knows no model.

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "multigrid/detail/format.hpp"
#include "multigrid/plan.hpp"

namespace multigrid {

/// The limits below which runs failed. Crops are compared with the model's total spatial stride
/// (32 for SlowFast-R50: stem, pooling and three strided stages).
struct fit_limits {
  int spatial_stride = 32;
  /// Crops below this many strides taught nothing about motion: trained at 32, 36 and 40 px (up to
  /// 1.25 strides) a model stayed near chance where at 45 px (1.4) it learned.
  double min_crop_strides = 1.4;
  /// Fast-pathway frames below this taught nothing (2 frames, the T/4 of an 8-frame base).
  int min_frames = 4;
  /// Stages with fewer optimizer steps an epoch, at up to 8x the LR, learned late or not at all:
  /// 2-3 steps in the demo's first version, 6 on the 200-video sets; 9 and more learned.
  std::int64_t min_iterations_per_epoch = 8;
};

struct schedule_warning {
  std::vector<int> stages;  ///< plan stages where it applies
  std::string problem;      ///< what is wrong, with its number
  std::string key;          ///< the key that changes it
  std::string advice;       ///< what to set it to, or what else to do

  std::string text() const {
    std::string where = stages.size() == 1 ? "stage " : "stages ";
    for (std::size_t i = 0; i < stages.size(); ++i) {
      where += (i ? ", " : "") + std::to_string(stages[i]);
    }
    return where + ": " + problem + "; " + advice;
  }
};

namespace detail {

inline void add_warning(std::vector<schedule_warning>& warnings, int stage, std::string problem,
                        std::string key, std::string advice) {
  for (auto& warning : warnings) {
    if (warning.problem == problem && warning.key == key) {
      // Two crops of one stage can share a problem; the stage is named once.
      if (warning.stages.back() != stage) warning.stages.push_back(stage);
      return;
    }
  }
  warnings.push_back({{stage}, std::move(problem), std::move(key), std::move(advice)});
}

}  // namespace detail

/// The warnings for a plan, one per distinct problem, listing the stages it concerns.
inline std::vector<schedule_warning> check_schedule_fit(const plan& schedule,
                                                        const fit_limits& limits = {}) {
  std::vector<schedule_warning> warnings;
  const auto& cfg = schedule.configuration();
  const int min_crop = static_cast<int>(std::ceil(limits.min_crop_strides * limits.spatial_stride));
  for (std::size_t i = 0; i < schedule.stages().size(); ++i) {
    const auto& stage = schedule.stages()[i];
    if (stage.schedule.empty()) continue;
    const int index = static_cast<int>(i);
    const auto& settings = stage.settings;
    for (int m = 0; m < settings.cycle_length; ++m) {
      const int crop = settings.cycle[static_cast<std::size_t>(m)].crop;
      if (crop >= min_crop) continue;
      // Where the base crop itself is under the limit, no MIN_CROP_SIZE can help (validation
      // keeps it within DATA.TRAIN_CROP_SIZE).
      const bool base = crop >= cfg.data.train_crop_size || cfg.data.train_crop_size < min_crop;
      detail::add_warning(warnings, index,
                          "crops of " + std::to_string(crop) + " px are under " +
                              std::to_string(min_crop) + " px (" +
                              detail::format_number(limits.min_crop_strides) +
                              "x the model's stride of " + std::to_string(limits.spatial_stride) +
                              "), too small to show motion",
                          base ? "DATA.TRAIN_CROP_SIZE" : "MULTIGRID.MIN_CROP_SIZE",
                          base ? "train at a larger DATA.TRAIN_CROP_SIZE"
                               : "set MULTIGRID.MIN_CROP_SIZE " + std::to_string(min_crop) +
                                     " or more (or a larger DATA.TRAIN_CROP_SIZE)");
    }
    if (settings.base.num_frames < limits.min_frames) {
      const bool base = settings.base.num_frames >= cfg.data.num_frames;
      detail::add_warning(warnings, index,
                          std::to_string(settings.base.num_frames) + " frames a clip, under " +
                              std::to_string(limits.min_frames),
                          base ? "DATA.NUM_FRAMES" : "MULTIGRID.LONG_CYCLE_FACTORS",
                          base ? "use more DATA.NUM_FRAMES"
                               : "use more DATA.NUM_FRAMES or larger temporal factors in "
                                 "MULTIGRID.LONG_CYCLE_FACTORS");
    }
    // Only the long cycle's coarse stages take fewer steps an epoch than the standard schedule;
    // a short epoch without it is the user's recipe, not the schedule's doing.
    if (cfg.multigrid.long_cycle && stage.iterations_per_epoch < limits.min_iterations_per_epoch) {
      detail::add_warning(
          warnings, index,
          std::to_string(stage.iterations_per_epoch) + " iterations an epoch, under " +
              std::to_string(limits.min_iterations_per_epoch) + " for " +
              std::to_string(schedule.train_samples()) + " training clips",
          "TRAIN.BATCH_SIZE",
          "lower TRAIN.BATCH_SIZE (and SOLVER.BASE_LR with it), or train without the long cycle");
    }
  }
  return warnings;
}

}  // namespace multigrid
