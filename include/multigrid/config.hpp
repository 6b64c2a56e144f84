#pragma once
// The configuration the schedule is computed from. Field names follow PySlowFast's config keys
// (slowfast/config/defaults.py), and so do the defaults, so a reader can map each field to the YAML
// key named in its comment.

#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <optional>
#include <string_view>
#include <vector>

#include "multigrid/batch_norm_mode.hpp"

namespace multigrid {

/// SOLVER.LR_POLICY. The first three are PySlowFast's; cosine_batch_scaled is ours: PySlowFast's
/// cosine ignores the long cycle's batch factor, which breaks the linear scaling rule that the
/// stepwise policy follows.
enum class lr_policy { cosine, cosine_batch_scaled, steps, steps_with_relative_lrs };

constexpr std::string_view lr_policy_name(lr_policy policy) noexcept {
  switch (policy) {
    case lr_policy::cosine:
      return "cosine";
    case lr_policy::cosine_batch_scaled:
      return "cosine_batch_scaled";
    case lr_policy::steps:
      return "steps";
    case lr_policy::steps_with_relative_lrs:
      return "steps_with_relative_lrs";
  }
  return "unknown";
}

inline constexpr std::array<lr_policy, 4> all_lr_policies{
    lr_policy::cosine, lr_policy::cosine_batch_scaled, lr_policy::steps,
    lr_policy::steps_with_relative_lrs};

namespace detail {

/// The value among `all` named `name`: one lookup for every choice a config key names.
template <typename Enum, std::size_t N, typename NameOf>
constexpr std::optional<Enum> parse_named(std::string_view name, const std::array<Enum, N>& all,
                                          NameOf name_of) noexcept {
  for (auto value : all) {
    if (name_of(value) == name) return value;
  }
  return std::nullopt;
}

}  // namespace detail

constexpr std::optional<lr_policy> parse_lr_policy(std::string_view name) noexcept {
  return detail::parse_named(name, all_lr_policies, lr_policy_name);
}

/// MULTIGRID.LONG_CYCLE_STRIDE (ours), the temporal stride of a clip with T < T0 frames:
/// `drawn` per clip between DATA.SAMPLING_RATE (tau) and tau * (T0 // T), as PySlowFast does;
/// `base_span` always tau * (T0 // T), so every clip spans the base clip's time; `base_stride`
/// always tau, so a clip of fewer frames spans less time.
enum class long_cycle_stride { drawn, base_span, base_stride };

constexpr std::string_view long_cycle_stride_name(long_cycle_stride stride) noexcept {
  switch (stride) {
    case long_cycle_stride::drawn:
      return "drawn";
    case long_cycle_stride::base_span:
      return "base_span";
    case long_cycle_stride::base_stride:
      return "base_stride";
  }
  return "unknown";
}

inline constexpr std::array<long_cycle_stride, 3> all_long_cycle_strides{
    long_cycle_stride::drawn, long_cycle_stride::base_span, long_cycle_stride::base_stride};

constexpr std::optional<long_cycle_stride> parse_long_cycle_stride(std::string_view name) noexcept {
  return detail::parse_named(name, all_long_cycle_strides, long_cycle_stride_name);
}

/// One entry of MULTIGRID.LONG_CYCLE_FACTORS: frames and crop relative to the base shape.
struct long_cycle_factor {
  double temporal = 1.0;
  double spatial = 1.0;
};

/// DATA.*
struct data_settings {
  int num_frames = 8;                                ///< DATA.NUM_FRAMES (T0)
  int sampling_rate = 8;                             ///< DATA.SAMPLING_RATE (tau)
  int train_crop_size = 224;                         ///< DATA.TRAIN_CROP_SIZE (S0)
  std::array<int, 2> train_jitter_scales{256, 320};  ///< DATA.TRAIN_JITTER_SCALES
};

/// SOLVER.*
struct solver_settings {
  double base_lr = 0.1;                  ///< SOLVER.BASE_LR
  lr_policy policy = lr_policy::cosine;  ///< SOLVER.LR_POLICY
  std::vector<int> steps;                ///< SOLVER.STEPS, epochs, first is 0
  std::vector<double> lrs;               ///< SOLVER.LRS, relative to BASE_LR
  int max_epoch = 300;                   ///< SOLVER.MAX_EPOCH
  double gamma = 0.1;                    ///< SOLVER.GAMMA
  double warmup_epochs = 0.0;            ///< SOLVER.WARMUP_EPOCHS
  double warmup_start_lr = 0.01;         ///< SOLVER.WARMUP_START_LR
  double cosine_end_lr = 0.0;            ///< SOLVER.COSINE_END_LR
  bool cosine_after_warmup = false;      ///< SOLVER.COSINE_AFTER_WARMUP
};

/// MULTIGRID.*
struct multigrid_settings {
  bool long_cycle = false;                          ///< MULTIGRID.LONG_CYCLE
  bool short_cycle = false;                         ///< MULTIGRID.SHORT_CYCLE
  double epoch_factor = 1.5;                        ///< MULTIGRID.EPOCH_FACTOR
  std::vector<long_cycle_factor> long_cycle_factors{///< MULTIGRID.LONG_CYCLE_FACTORS
                                                    {0.25, std::sqrt(0.5)},
                                                    {0.5, std::sqrt(0.5)},
                                                    {0.5, 1.0},
                                                    {1.0, 1.0}};
  std::array<double, 2> short_cycle_factors{0.5,
                                            std::sqrt(0.5)};  ///< MULTIGRID.SHORT_CYCLE_FACTORS
  int bn_base_size = 8;                                       ///< MULTIGRID.BN_BASE_SIZE
  int default_s = 0;  ///< MULTIGRID.DEFAULT_S: crop the short-cycle factors refer to; 0 = S0
  int eval_freq = 3;  ///< MULTIGRID.EVAL_FREQ: evaluations per long-cycle shape
  /// MULTIGRID.MIN_CROP_SIZE (ours): no long- or short-cycle crop below this many pixels; 0 keeps
  /// PySlowFast's crops. See cycle_crops.hpp.
  int min_crop_size = 0;
  /// MULTIGRID.LONG_CYCLE_LR_STAGES (ours): the long cycle walks its shapes in the first this many
  /// LR stages only; the later ones train at the base shape, as the fine-tune does. 0 cycles every
  /// LR stage before the fine-tune, as PySlowFast does. See long_cycle.hpp.
  int long_cycle_lr_stages = 0;
  /// MULTIGRID.LONG_CYCLE_STRIDE (ours): how far apart the frames of a clip with fewer than
  /// DATA.NUM_FRAMES are. See stage_settings.hpp.
  long_cycle_stride stride = long_cycle_stride::drawn;
};

/// BN.NORM_TYPE (batchnorm, sub_batchnorm, sync_batchnorm), BN.NUM_SPLITS, BN.NUM_SYNC_DEVICES:
/// the BatchNorm of runs without the long cycle, and of long-cycle runs until their first shape
/// change (PySlowFast applies MULTIGRID.BN_BASE_SIZE only when a long-cycle stage begins).
struct batch_norm_settings {
  batch_norm_type type = batch_norm_type::plain;
  int splits = 1;
  int sync_devices = 1;
};

/// Everything the schedule depends on.
struct config {
  int num_gpus = 1;     ///< NUM_GPUS: processes; 0 is PySlowFast's CPU mode, one process
  int batch_size = 64;  ///< TRAIN.BATCH_SIZE: global mini-batch at the base shape (B0)
  data_settings data;
  solver_settings solver;
  multigrid_settings multigrid;
  batch_norm_settings batch_norm;

  /// Number of processes that share the global batch.
  int devices() const noexcept { return num_gpus > 0 ? num_gpus : 1; }
  /// The crop the short-cycle factors and the jitter scaling refer to.
  int reference_crop() const noexcept {
    return multigrid.default_s > 0 ? multigrid.default_s : data.train_crop_size;
  }
  /// The LR stages the long cycle can walk: every interval of SOLVER.STEPS but the last, which
  /// is the fine-tune; a single stage (SOLVER.STEPS [0], or none with cosine) is cycled whole.
  int cycled_lr_stages() const noexcept {
    return std::max(1, static_cast<int>(solver.steps.size()) - 1);
  }
  bool uses_multigrid() const noexcept { return multigrid.long_cycle || multigrid.short_cycle; }
};

}  // namespace multigrid
