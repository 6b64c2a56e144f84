#pragma once
// The C++ objects behind multigrid.Plan, Step, Stage and Schedule. A Step keeps its plan alive,
// since its settings point into it.

#include <pybind11/pybind11.h>

#include <memory>
#include <multigrid/plan.hpp>
#include <stdexcept>
#include <string>
#include <vector>

namespace multigrid::python {

struct plan_holder {
  std::shared_ptr<const multigrid::plan> plan;
};

struct step_view {
  iteration_plan step;
  std::shared_ptr<const multigrid::plan> owner;
};

/// One row of the stage table, with its iterations where a dataset size is known.
struct stage_view {
  int index = 0;
  schedule_stage schedule;
  stage_settings settings;
  std::int64_t iterations_per_epoch = 0;
  std::int64_t first_iteration = 0;
};

inline std::vector<stage_view> plan_stages(const multigrid::plan& plan) {
  std::vector<stage_view> stages;
  int index = 0;
  for (const auto& stage : plan.stages()) {
    stages.push_back({index++, stage.schedule, stage.settings, stage.iterations_per_epoch,
                      stage.first_iteration});
  }
  return stages;
}

/// The schedule of a configuration without a dataset size.
struct schedule_view {
  explicit schedule_view(const multigrid::config& cfg)
      : config(cfg),
        schedule(make_epoch_schedule(cfg)),
        settings(make_all_stage_settings(cfg, schedule)),
        learning_rate(cfg, schedule) {}

  std::vector<stage_view> stages() const {
    std::vector<stage_view> all;
    for (std::size_t i = 0; i < schedule.stages.size(); ++i) {
      all.push_back({static_cast<int>(i), schedule.stages[i], settings[i], 0, 0});
    }
    return all;
  }

  /// The stage that trains `epoch` (never an empty one).
  int stage_of_epoch(int epoch) const {
    if (epoch < 0 || epoch >= schedule.max_epoch) {
      throw std::out_of_range("multigrid.Schedule: epoch " + std::to_string(epoch) +
                              " is outside [0, " + std::to_string(schedule.max_epoch) + ")");
    }
    for (std::size_t i = 0; i < schedule.stages.size(); ++i) {
      const auto& stage = schedule.stages[i];
      if (epoch >= stage.begin_epoch && epoch < stage.end_epoch) return static_cast<int>(i);
    }
    throw std::logic_error("multigrid.Schedule: no stage trains epoch " + std::to_string(epoch));
  }

  multigrid::config config;
  epoch_schedule schedule;
  std::vector<stage_settings> settings;
  learning_rate_schedule learning_rate;
};

}  // namespace multigrid::python
