#pragma once
// The schedule of a configuration, as the multigrid-schedule tool shows it: a table for people,
// JSON for other tools, and a chart. The numbers all come from the library.

#include <cstdint>
#include <multigrid/config.hpp>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "report/svg_chart.hpp"

namespace multigrid::reference {

/// A human-readable table of stages, STEPS, LRS and the iteration saving; with the size of the
/// training set, also each stage's iterations per epoch and in all.
std::string schedule_table(const multigrid::config& cfg,
                           std::optional<std::int64_t> train_samples = std::nullopt);

/// The warnings of multigrid::check_schedule_fit for a training set, one line each, naming the
/// stages, the number and the key to change; empty when the schedule is in the region that works.
/// `spatial_stride` is the model's (32 for SlowFast-R50).
std::vector<std::string> schedule_fit_warnings(const multigrid::config& cfg,
                                               std::int64_t train_samples, int spatial_stride);

/// The schedule as JSON (see docs/schedule.md for the format); `lr_at` adds "lr_at" entries.
nlohmann::ordered_json schedule_json(const multigrid::config& cfg,
                                     const std::vector<double>& lr_at = {});

/// Global batch, frames, crop and LR over epochs, one panel each, stage changes marked.
chart schedule_chart(const multigrid::config& cfg, const std::string& title);

}  // namespace multigrid::reference
