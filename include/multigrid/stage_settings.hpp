#pragma once
// What a trainer applies for one stage of the schedule: batches, shape, crops and jitter of the
// short cycle, the temporal stride range and the BatchNorm mode. Everything that is derived from a
// stage is derived here, once.

#include <array>
#include <vector>

#include "multigrid/batch_norm_mode.hpp"
#include "multigrid/config.hpp"
#include "multigrid/cycle_crops.hpp"
#include "multigrid/epoch_schedule.hpp"
#include "multigrid/rounding.hpp"

namespace multigrid {

/// The shape of one mini-batch: what the loader decodes and the model receives.
struct clip_shape {
  int per_gpu_batch = 0;
  int global_batch = 0;
  int num_frames = 0;
  int crop = 0;
  std::array<int, 2> jitter{0, 0};  ///< short-side scale range, pixels, before the crop

  friend bool operator==(const clip_shape& a, const clip_shape& b) noexcept {
    return a.per_gpu_batch == b.per_gpu_batch && a.global_batch == b.global_batch &&
           a.num_frames == b.num_frames && a.crop == b.crop && a.jitter == b.jitter;
  }
  friend bool operator!=(const clip_shape& a, const clip_shape& b) noexcept { return !(a == b); }
};

struct stage_settings {
  clip_shape base;                     ///< the stage's long-cycle shape (precise BN, validation)
  std::array<int, 2> sampling_rate{};  ///< temporal stride range, inclusive, drawn per clip
  batch_norm_mode batch_norm;
  int cycle_length = 1;               ///< 3 with the short cycle on, else 1
  std::array<clip_shape, 3> cycle{};  ///< shape of batch n is cycle[n % cycle_length]
};

namespace detail {

/// Smaller crops keep the jittered short side in proportion to the crop (PySlowFast scales the
/// minimum whenever multigrid is on; the maximum stays).
inline std::array<int, 2> jitter_for_crop(const config& cfg, int crop) {
  const auto& scales = cfg.data.train_jitter_scales;
  if (!cfg.uses_multigrid()) return scales;
  const int minimum = round_to_int(static_cast<double>(scales[0]) * crop / cfg.reference_crop());
  return {minimum, scales[1]};
}

}  // namespace detail

/// The shapes of one stage, with `batch_norm` as its BatchNorm (make_all_stage_settings decides
/// it).
inline stage_settings make_stage_settings(const config& cfg, const schedule_stage& stage,
                                          const batch_norm_mode& batch_norm) {
  const int devices = cfg.devices();
  stage_settings settings;
  auto& base = settings.base;
  base.global_batch = cfg.batch_size * stage.batch_factor;
  base.per_gpu_batch = base.global_batch / devices;
  base.num_frames = stage.num_frames;
  base.crop = stage.crop;
  base.jitter = detail::jitter_for_crop(cfg, stage.crop);

  // A clip of fewer frames shows less of the motion; PySlowFast lets it span up to the base
  // clip's time by drawing its stride up to tau * (T0 // T). The other choices fix the span at
  // the base clip's or at T * tau (docs/schedule.md); the shape, and so the cost, is the same.
  const int tau = cfg.data.sampling_rate;
  const int span_keeping = tau * (cfg.data.num_frames / stage.num_frames);
  switch (cfg.multigrid.stride) {
    case long_cycle_stride::drawn:
      settings.sampling_rate = {tau, span_keeping};
      break;
    case long_cycle_stride::base_span:
      settings.sampling_rate = {span_keeping, span_keeping};
      break;
    case long_cycle_stride::base_stride:
      settings.sampling_rate = {tau, tau};
      break;
  }
  settings.batch_norm = batch_norm;

  if (!cfg.multigrid.short_cycle) {
    settings.cycle[0] = base;
    return settings;
  }
  settings.cycle_length = 3;
  for (int m = 0; m < 2; ++m) {
    // The batch factor is taken from the current long-cycle crop, so that 158-px stages grow their
    // batch 2x/1x and 224-px stages 4x/2x, keeping B*T*S^2 about constant within the stage.
    const double short_crop = detail::short_cycle_crop(cfg, static_cast<std::size_t>(m));
    const double ratio = stage.crop / short_crop;
    auto& shape = settings.cycle[m];
    shape.per_gpu_batch = base.per_gpu_batch * round_to_int(ratio * ratio);
    shape.global_batch = shape.per_gpu_batch * devices;
    shape.num_frames = stage.num_frames;
    shape.crop = round_to_int(short_crop);
    shape.jitter = detail::jitter_for_crop(cfg, shape.crop);
  }
  settings.cycle[2] = base;
  return settings;
}

/// Every stage's settings, with the BatchNorm PySlowFast trains it with: the configured one
/// (BN.NORM_TYPE) until the long cycle first changes the shape, then at each stage whose shape
/// changes MULTIGRID.BN_BASE_SIZE's rule (choose_batch_norm), kept until the next change. So runs
/// without the long cycle, and a long cycle whose single shape is the base one, keep the configured
/// BN. Where we differ: PySlowFast compares frames and crop only and misses a stage that changes
/// the batch alone; here the batch counts too.
inline std::vector<stage_settings> make_all_stage_settings(const config& cfg,
                                                           const epoch_schedule& schedule) {
  std::vector<stage_settings> all;
  const int devices = cfg.devices();
  const batch_norm_mode configured{cfg.batch_norm.type, cfg.batch_norm.splits,
                                   cfg.batch_norm.sync_devices};
  int frames = cfg.data.num_frames;
  int crop = cfg.data.train_crop_size;
  int batch_factor = 1;
  bool set_by_long_cycle = false;
  batch_norm_mode current;
  for (const auto& stage : schedule.stages) {
    const int per_gpu_batch = cfg.batch_size * stage.batch_factor / devices;
    if (cfg.multigrid.long_cycle && !stage.empty() &&
        (stage.num_frames != frames || stage.crop != crop || stage.batch_factor != batch_factor)) {
      frames = stage.num_frames;
      crop = stage.crop;
      batch_factor = stage.batch_factor;
      set_by_long_cycle = true;
      current = choose_batch_norm(per_gpu_batch, cfg.multigrid.bn_base_size, devices);
    } else if (!set_by_long_cycle) {
      current = feasible_batch_norm(configured, per_gpu_batch, devices);
    }
    all.push_back(make_stage_settings(cfg, stage, current));
  }
  return all;
}

}  // namespace multigrid
