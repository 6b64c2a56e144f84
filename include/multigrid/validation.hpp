#pragma once
// Checks a configuration before any schedule is computed from it, and reports every problem at
// once, each with the config key and the value that caused it: a user fixing a YAML file should
// not have to rerun once per mistake.

#include <cmath>
#include <stdexcept>
#include <string>
#include <vector>

#include "multigrid/config.hpp"
#include "multigrid/cycle_crops.hpp"
#include "multigrid/detail/format.hpp"
#include "multigrid/rounding.hpp"

namespace multigrid {

/// One problem: the config key (`SOLVER.STEPS[2]`), its value as text, and what is wrong.
struct config_error {
  std::string field;
  std::string value;
  std::string message;

  std::string to_string() const { return field + " = " + value + ": " + message; }
};

/// Thrown by the schedule and the plan when a configuration does not validate.
class invalid_config : public std::invalid_argument {
 public:
  explicit invalid_config(std::vector<config_error> errors)
      : std::invalid_argument(join(errors)), errors_(std::move(errors)) {}

  const std::vector<config_error>& errors() const noexcept { return errors_; }

 private:
  static std::string join(const std::vector<config_error>& errors) {
    std::string text = "invalid configuration:";
    for (const auto& error : errors) text += "\n  " + error.to_string();
    return text;
  }
  std::vector<config_error> errors_;
};

namespace detail {

class error_list {
 public:
  template <class Value>
  void add(std::string field, const Value& value, std::string message) {
    errors.push_back({std::move(field), format_value(value), std::move(message)});
  }
  std::vector<config_error> errors;

 private:
  static std::string format_value(double value) { return format_number(value); }
  static std::string format_value(int value) { return format_number(value); }
  static std::string format_value(bool value) { return value ? "True" : "False"; }
  static std::string format_value(const std::string& value) { return value; }
  template <class Number>
  static std::string format_value(const std::vector<Number>& values) {
    return format_list(values);
  }
  template <class Number, std::size_t N>
  static std::string format_value(const std::array<Number, N>& values) {
    return format_list(values);
  }
};

inline std::string indexed(const std::string& field, std::size_t index) {
  return field + "[" + std::to_string(index) + "]";
}

inline void check_data(const config& cfg, error_list& errors) {
  const auto& data = cfg.data;
  if (data.num_frames <= 0) errors.add("DATA.NUM_FRAMES", data.num_frames, "must be positive");
  if (data.sampling_rate <= 0) {
    errors.add("DATA.SAMPLING_RATE", data.sampling_rate, "must be positive");
  }
  if (data.train_crop_size <= 0) {
    errors.add("DATA.TRAIN_CROP_SIZE", data.train_crop_size, "must be positive");
  }
  const auto& jitter = data.train_jitter_scales;
  if (jitter[0] <= 0 || jitter[1] <= 0) {
    errors.add("DATA.TRAIN_JITTER_SCALES", jitter, "both scales must be positive");
  } else if (jitter[0] > jitter[1]) {
    errors.add("DATA.TRAIN_JITTER_SCALES", jitter, "the minimum is above the maximum");
  }
}

inline void check_finite_non_negative(const char* field, double value, error_list& errors) {
  if (!std::isfinite(value)) {
    errors.add(field, value, "must be a finite number");
  } else if (value < 0) {
    errors.add(field, value, "must not be negative");
  }
}

inline void check_solver(const config& cfg, error_list& errors) {
  const auto& solver = cfg.solver;
  check_finite_non_negative("SOLVER.BASE_LR", solver.base_lr, errors);
  check_finite_non_negative("SOLVER.WARMUP_EPOCHS", solver.warmup_epochs, errors);
  check_finite_non_negative("SOLVER.WARMUP_START_LR", solver.warmup_start_lr, errors);
  if (!std::isfinite(solver.gamma) || solver.gamma <= 0) {
    errors.add("SOLVER.GAMMA", solver.gamma, "must be a positive finite number");
  }
  if (solver.max_epoch <= 0) errors.add("SOLVER.MAX_EPOCH", solver.max_epoch, "must be positive");

  const auto& steps = solver.steps;
  if (!steps.empty() && steps.front() != 0) {
    errors.add("SOLVER.STEPS", steps, "must start at 0");
  }
  for (std::size_t i = 1; i < steps.size(); ++i) {
    if (steps[i] <= steps[i - 1]) {
      errors.add(indexed("SOLVER.STEPS", i), steps[i],
                 "must be greater than the step before it (" + format_number(steps[i - 1]) + ")");
    }
  }
  if (!steps.empty() && solver.max_epoch > 0 && solver.max_epoch < steps.back()) {
    errors.add("SOLVER.MAX_EPOCH", solver.max_epoch,
               "is below the last of SOLVER.STEPS (" + format_number(steps.back()) + ")");
  }

  const bool stepwise =
      solver.policy == lr_policy::steps || solver.policy == lr_policy::steps_with_relative_lrs;
  if (stepwise && steps.empty()) {
    errors.add("SOLVER.STEPS", steps,
               "is empty, but SOLVER.LR_POLICY " + std::string(lr_policy_name(solver.policy)) +
                   " needs at least [0]");
  }
  // The long cycle writes its own relative LRs; otherwise they must pair up with STEPS.
  if (solver.policy == lr_policy::steps_with_relative_lrs && !cfg.multigrid.long_cycle) {
    if (solver.lrs.size() < steps.size()) {
      errors.add("SOLVER.LRS", solver.lrs,
                 "has " + std::to_string(solver.lrs.size()) + " entries but SOLVER.STEPS has " +
                     std::to_string(steps.size()) + ": each LR stage needs a relative LR");
    }
  }
  for (std::size_t i = 0; i < solver.lrs.size(); ++i) {
    if (!std::isfinite(solver.lrs[i]) || solver.lrs[i] < 0) {
      errors.add(indexed("SOLVER.LRS", i), solver.lrs[i], "must be a finite, non-negative number");
    }
  }

  const bool cosine =
      solver.policy == lr_policy::cosine || solver.policy == lr_policy::cosine_batch_scaled;
  if (cosine) {
    if (!std::isfinite(solver.cosine_end_lr)) {
      errors.add("SOLVER.COSINE_END_LR", solver.cosine_end_lr, "must be a finite number");
    } else if (std::isfinite(solver.base_lr) && solver.cosine_end_lr >= solver.base_lr) {
      errors.add("SOLVER.COSINE_END_LR", solver.cosine_end_lr,
                 "must be below SOLVER.BASE_LR (" + format_number(solver.base_lr) + ")");
    }
    if (solver.cosine_after_warmup && std::isfinite(solver.warmup_epochs) &&
        solver.warmup_epochs >= solver.max_epoch) {
      errors.add("SOLVER.WARMUP_EPOCHS", solver.warmup_epochs,
                 "must be below SOLVER.MAX_EPOCH when SOLVER.COSINE_AFTER_WARMUP is set");
    }
  }
}

inline bool valid_factor(double factor) {
  return std::isfinite(factor) && factor > 0 && factor <= 1;
}

inline void check_multigrid(const config& cfg, error_list& errors) {
  const auto& mg = cfg.multigrid;
  if (!std::isfinite(mg.epoch_factor) || mg.epoch_factor <= 0) {
    errors.add("MULTIGRID.EPOCH_FACTOR", mg.epoch_factor, "must be a positive finite number");
  }
  if (mg.bn_base_size <= 0) {
    errors.add("MULTIGRID.BN_BASE_SIZE", mg.bn_base_size, "must be positive");
  }
  if (mg.default_s < 0) {
    errors.add("MULTIGRID.DEFAULT_S", mg.default_s,
               "must be 0 (use DATA.TRAIN_CROP_SIZE) or positive");
  }
  if (mg.min_crop_size < 0) {
    errors.add("MULTIGRID.MIN_CROP_SIZE", mg.min_crop_size, "must be 0 (off) or positive");
  } else if (cfg.data.train_crop_size > 0 && mg.min_crop_size > cfg.data.train_crop_size) {
    errors.add("MULTIGRID.MIN_CROP_SIZE", mg.min_crop_size,
               "must not exceed DATA.TRAIN_CROP_SIZE (" + std::to_string(cfg.data.train_crop_size) +
                   "): it raises the smaller crops of the cycles, not the base one");
  }
  const int cycled_stages = cfg.cycled_lr_stages();
  if (mg.long_cycle_lr_stages < 0 || mg.long_cycle_lr_stages > cycled_stages) {
    errors.add("MULTIGRID.LONG_CYCLE_LR_STAGES", mg.long_cycle_lr_stages,
               "must be 0 (every LR stage before the fine-tune) or from 1 to " +
                   std::to_string(cycled_stages) + ", the LR stages SOLVER.STEPS gives before it");
  }
  const int frames = cfg.data.num_frames;
  const int crop = cfg.data.train_crop_size;
  const int reference = cfg.reference_crop();
  const bool sizes_valid = frames > 0 && crop > 0 && reference > 0;

  bool short_factors_valid = true;
  if (mg.short_cycle) {
    for (std::size_t i = 0; i < mg.short_cycle_factors.size(); ++i) {
      const double factor = mg.short_cycle_factors[i];
      const auto field = indexed("MULTIGRID.SHORT_CYCLE_FACTORS", i);
      if (!valid_factor(factor)) {
        errors.add(field, factor, "must be in (0, 1]: short-cycle crops are smaller than the base");
        short_factors_valid = false;
      } else if (sizes_valid && round_to_int(factor * reference) < 1) {
        errors.add(field, factor, "gives a crop of 0 pixels");
        short_factors_valid = false;
      }
    }
  }

  if (!mg.long_cycle) return;
  const auto& factors = mg.long_cycle_factors;
  if (factors.empty()) {
    errors.add("MULTIGRID.LONG_CYCLE_FACTORS", std::string("[]"), "needs at least one shape");
    return;
  }
  for (std::size_t j = 0; j < factors.size(); ++j) {
    const auto [temporal, spatial] = factors[j];
    const auto field = indexed("MULTIGRID.LONG_CYCLE_FACTORS", j);
    const std::vector<double> pair{temporal, spatial};
    if (!valid_factor(temporal) || !valid_factor(spatial)) {
      errors.add(field, pair,
                 "both factors must be in (0, 1]: long-cycle shapes are coarser "
                 "than the base shape");
      continue;
    }
    if (!sizes_valid) continue;
    const int cycle_frames = round_to_int(frames * temporal);
    const int cycle_crop = long_cycle_crop(cfg, spatial);
    if (cycle_frames < 1) errors.add(field, pair, "gives 0 frames");
    if (cycle_crop < 1) errors.add(field, pair, "gives a crop of 0 pixels");
    if (mg.short_cycle && short_factors_valid && cycle_crop >= 1) {
      for (std::size_t m = 0; m < mg.short_cycle_factors.size(); ++m) {
        const double ratio = cycle_crop / short_cycle_crop(cfg, m);
        if (round_to_int(ratio * ratio) < 1) {
          errors.add(field, pair,
                     "its crop " + std::to_string(cycle_crop) +
                         " is too small for the short cycle: MULTIGRID.SHORT_CYCLE_FACTORS[" +
                         std::to_string(m) + "] would give a batch factor of 0");
        }
      }
    }
  }
  const auto last = factors.back();
  if (last.temporal != 1.0 || last.spatial != 1.0) {
    errors.add(indexed("MULTIGRID.LONG_CYCLE_FACTORS", factors.size() - 1),
               std::vector<double>{last.temporal, last.spatial},
               "the last long-cycle shape must be the base shape (1, 1)");
  }
}

}  // namespace detail

/// Every problem with the configuration, empty when it is valid.
inline std::vector<config_error> validate(const config& cfg) {
  detail::error_list errors;
  if (cfg.num_gpus < 0) {
    errors.add("NUM_GPUS", cfg.num_gpus, "must be 0 (one CPU process) or positive");
  }
  if (cfg.batch_size <= 0) {
    errors.add("TRAIN.BATCH_SIZE", cfg.batch_size, "must be positive");
  } else if (cfg.num_gpus >= 0 && cfg.batch_size % cfg.devices() != 0) {
    errors.add("TRAIN.BATCH_SIZE", cfg.batch_size,
               "must be divisible by NUM_GPUS (" + std::to_string(cfg.num_gpus) + ")");
  }
  detail::check_data(cfg, errors);
  detail::check_solver(cfg, errors);
  if (cfg.batch_norm.splits < 1) {
    errors.add("BN.NUM_SPLITS", cfg.batch_norm.splits, "must be at least 1");
  }
  if (cfg.batch_norm.sync_devices < 1) {
    errors.add("BN.NUM_SYNC_DEVICES", cfg.batch_norm.sync_devices, "must be at least 1");
  }
  if (cfg.uses_multigrid()) detail::check_multigrid(cfg, errors);
  return std::move(errors.errors);
}

/// Throws invalid_config listing every problem, if there is any.
inline void throw_if_invalid(const config& cfg) {
  auto errors = validate(cfg);
  if (!errors.empty()) throw invalid_config(std::move(errors));
}

}  // namespace multigrid
