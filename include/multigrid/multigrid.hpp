#pragma once
// The front door: include this to get the whole library.
//
//   multigrid::config cfg = ...;                    // PySlowFast's keys, see config.hpp
//   multigrid::plan plan(cfg, train_samples);       // validates; throws invalid_config
//   for (std::int64_t g = 0; g < plan.total_iterations(); ++g) {
//     const auto step = plan.at(g);                 // shape, batch, LR, BN mode, stage change
//     ...
//   }

#include "multigrid/batch_norm_mode.hpp"
#include "multigrid/batch_norm_statistics.hpp"
#include "multigrid/config.hpp"
#include "multigrid/cycle_crops.hpp"
#include "multigrid/epoch_schedule.hpp"
#include "multigrid/evaluation_schedule.hpp"
#include "multigrid/learning_rate.hpp"
#include "multigrid/long_cycle.hpp"
#include "multigrid/plan.hpp"
#include "multigrid/plateau_warning.hpp"
#include "multigrid/rounding.hpp"
#include "multigrid/schedule_cost.hpp"
#include "multigrid/schedule_warnings.hpp"
#include "multigrid/short_cycle_sampler.hpp"
#include "multigrid/stage_settings.hpp"
#include "multigrid/validation.hpp"
#include "multigrid/version.hpp"
