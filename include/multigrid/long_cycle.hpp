#pragma once
// The long cycle: which coarse shape trains for how many epochs, computed exactly as PySlowFast's
// MultigridSchedule.get_long_cycle_schedule does it, in the same floating-point order, so that the
// epochs agree to the last one (the Kinetics SlowFast-R50 schedule ends at 358, not 359).

#include <cstddef>
#include <numeric>
#include <vector>

#include "multigrid/config.hpp"
#include "multigrid/cycle_crops.hpp"
#include "multigrid/rounding.hpp"

namespace multigrid {

/// One long-cycle shape of one LR stage (or the fine-tune), as PySlowFast's schedule lists it.
struct long_cycle_entry {
  int lr_stage = 0;      ///< interval of the original SOLVER.STEPS; the fine-tune is the last one
  int batch_factor = 1;  ///< global batch relative to TRAIN.BATCH_SIZE
  int num_frames = 0;
  int crop = 0;
  int end_epoch = 0;  ///< exclusive; the begin is the previous entry's end (0 for the first)
  bool fine_tune = false;
};

/// A candidate shape of one long-cycle factor: frames, crop (unrounded for the short-cycle crops,
/// as in the reference) and the batch factor that keeps B*T*S^2 constant.
struct long_cycle_shape {
  int num_frames = 0;
  double crop = 0;
  int batch_factor = 1;
};

namespace detail {

inline int relative_batch(double base_size, int frames, double crop) {
  return round_to_int(base_size / (frames * crop * crop));
}

/// The candidate shapes of long-cycle factor j: with the short cycle on, the two short-cycle crops
/// and then the factor's own crop, which is the stage's base shape.
inline std::vector<long_cycle_shape> long_cycle_candidates(const config& cfg,
                                                           const long_cycle_factor& factor) {
  const int frames0 = cfg.data.num_frames;
  const int crop0 = cfg.data.train_crop_size;
  const double base_size = static_cast<double>(frames0) * crop0 * crop0;
  const int frames = round_to_int(frames0 * factor.temporal);
  const int crop = long_cycle_crop(cfg, factor.spatial);
  std::vector<long_cycle_shape> shapes;
  if (cfg.multigrid.short_cycle) {
    for (std::size_t m = 0; m < cfg.multigrid.short_cycle_factors.size(); ++m) {
      const double short_crop = short_cycle_crop(cfg, m);
      shapes.push_back({frames, short_crop, relative_batch(base_size, frames, short_crop)});
    }
  }
  shapes.push_back({frames, static_cast<double>(crop), relative_batch(base_size, frames, crop)});
  return shapes;
}

}  // namespace detail

/// The long-cycle entries for a validated configuration with MULTIGRID.LONG_CYCLE on.
///
/// Each LR stage k of SOLVER.STEPS (all but the last) is divided among the long-cycle shapes in
/// proportion to their mean relative batch a_j, so every shape gets the same number of iterations.
/// The last LR stage becomes a fine-tune at the base shape with the same iteration saving. All raw
/// epochs are then scaled so that they sum to MAX_EPOCH * EPOCH_FACTOR and the *cumulative* sums
/// are rounded half-to-even. Our choice where PySlowFast divides by zero: a single LR stage
/// (SOLVER.STEPS [0] or, with a cosine policy, empty) is cycled over the whole run without a
/// separate fine-tune. With MULTIGRID.LONG_CYCLE_LR_STAGES N (ours), LR stages N and later are
/// not cycled: like the fine-tune, each is one entry at the base shape with the cycles' saving.
inline std::vector<long_cycle_entry> long_cycle_entries(const config& cfg) {
  const auto& factors = cfg.multigrid.long_cycle_factors;
  std::vector<long_cycle_entry> shapes;
  std::vector<double> mean_batch;
  for (const auto& factor : factors) {
    const auto candidates = detail::long_cycle_candidates(cfg, factor);
    double sum = 0;
    for (const auto& candidate : candidates) sum += candidate.batch_factor;
    mean_batch.push_back(sum / static_cast<double>(candidates.size()));
    const auto& base = candidates.back();
    shapes.push_back(
        {0, base.batch_factor, base.num_frames, static_cast<int>(base.crop), 0, false});
  }
  double mean_batch_sum = 0;
  for (double value : mean_batch) mean_batch_sum += value;

  std::vector<int> steps = cfg.solver.steps;
  if (steps.empty()) steps.push_back(0);
  const int max_epoch = cfg.solver.max_epoch;
  const bool single_stage = steps.size() == 1;
  // A single LR stage is cycled whole: treat MAX_EPOCH as the end of a cycled stage.
  if (single_stage) steps.push_back(max_epoch);

  // MULTIGRID.LONG_CYCLE_LR_STAGES (ours): the LR stages from `cycled` on train at the base shape.
  const auto stage_count = static_cast<std::size_t>(cfg.cycled_lr_stages());
  const auto wanted = static_cast<std::size_t>(cfg.multigrid.long_cycle_lr_stages);
  const std::size_t cycled = wanted > 0 && wanted < stage_count ? wanted : stage_count;

  std::vector<long_cycle_entry> entries;
  std::vector<double> raw_epochs;
  double total_iterations = 0;
  // Iterations of the standard schedule per iteration of the cycled stages. A stage at the base
  // shape keeps this saving: its epochs are those of a fine-tune of the same length.
  const auto iteration_saving = [&] { return steps[cycled] / total_iterations; };
  for (std::size_t k = 0; k < stage_count; ++k) {
    const int stage_epochs = steps[k + 1] - steps[k];
    if (k >= cycled) {
      auto entry = shapes.back();
      entry.lr_stage = static_cast<int>(k);
      entries.push_back(entry);
      raw_epochs.push_back(stage_epochs / iteration_saving() * mean_batch.back());
      continue;
    }
    for (std::size_t j = 0; j < shapes.size(); ++j) {
      const double epochs = stage_epochs * mean_batch[j] / mean_batch_sum;
      total_iterations += epochs / mean_batch[j];
      auto entry = shapes[j];
      entry.lr_stage = static_cast<int>(k);
      entries.push_back(entry);
      raw_epochs.push_back(epochs);
    }
  }
  if (!single_stage) {
    const double fine_tune_epochs =
        (max_epoch - steps.back()) / iteration_saving() * mean_batch.back();
    auto entry = shapes.back();
    entry.lr_stage = static_cast<int>(steps.size()) - 1;
    entry.fine_tune = true;
    entries.push_back(entry);
    raw_epochs.push_back(fine_tune_epochs);
  }

  double raw_sum = 0;
  for (double epochs : raw_epochs) raw_sum += epochs;
  const double scale = max_epoch * cfg.multigrid.epoch_factor / raw_sum;
  double cumulative = 0;
  for (std::size_t i = 0; i < entries.size(); ++i) {
    cumulative += raw_epochs[i] * scale;
    entries[i].end_epoch = round_to_int(cumulative);
  }
  return entries;
}

}  // namespace multigrid
