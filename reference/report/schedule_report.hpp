#pragma once
// The schedule of a configuration, as the multigrid-schedule tool shows it: a table for people,
// JSON for other tools, and a chart. The numbers all come from the library.

#include <multigrid/config.hpp>
#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include "report/svg_chart.hpp"

namespace multigrid::reference {

/// A human-readable table of stages, STEPS, LRS and the iteration saving.
std::string schedule_table(const multigrid::config& cfg);

/// The schedule as JSON (see docs/schedule.md for the format); `lr_at` adds "lr_at" entries.
nlohmann::ordered_json schedule_json(const multigrid::config& cfg, const std::vector<double>& lr_at = {});

/// Global batch, frames, crop and LR over epochs, one panel each, stage changes marked.
chart schedule_chart(const multigrid::config& cfg, const std::string& title);

/// Iterations of the schedule relative to training the standard schedule (same config with the
/// long and short cycle off): below 1 is a saving. Independent of the dataset size up to the
/// rounding of batches.
double relative_iterations(const multigrid::config& cfg);

}  // namespace multigrid::reference
