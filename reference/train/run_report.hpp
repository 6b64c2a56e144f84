#pragma once
// The end-of-run report, built from the metrics file (and the saved config for the schedule), so
// it can be regenerated from a finished or a crashed run: loss and accuracy against epochs with
// the schedule (global batch, frames, crop, LR) drawn under them, the same against wall-clock with
// the batch and LR the run actually trained with, and a summary table. Several runs (the demo's
// standard and multigrid) share the axes.

#include <multigrid/config.hpp>
#include <optional>
#include <string>
#include <vector>

#include "report/svg_chart.hpp"
#include "train/metrics.hpp"

namespace multigrid::reference {

struct run_record {
  std::string label;
  metrics_history metrics;
  std::optional<multigrid::config> schedule;  ///< absent when the run's config.yaml is missing
  int num_classes = 0;  ///< MODEL.NUM_CLASSES; 0 when the run's config.yaml is missing

  bool shows_top5() const noexcept { return top5_informative(num_classes); }
  /// "test top-1 75.50 % (30 views)", else the last validation's, else empty.
  std::string final_accuracy() const;
};

/// Reads OUTPUT_DIR/metrics.jsonl and, when present, OUTPUT_DIR/config.yaml. `label` defaults to
/// the folder's name.
run_record load_run(const std::string& output_dir, const std::string& label = "");

/// Loss, top-1 and the schedule over epochs.
chart run_epoch_chart(const std::vector<run_record>& runs);
/// Loss, top-1, global batch and LR over wall-clock.
chart run_time_chart(const std::vector<run_record>& runs);
/// Both charts in one SVG document.
std::string run_report_svg(const std::vector<run_record>& runs);

/// One row per run: epochs, iterations, wall-clock, clips/s, last training loss, last validation
/// and final multi-view test accuracy.
std::string run_summary_table(const std::vector<run_record>& runs);

/// Writes the SVG atomically.
void write_run_report(const std::vector<run_record>& runs, const std::string& svg_path);

/// Stacks standalone SVG documents (render_svg's output) vertically into one document.
std::string stack_svg_documents(const std::vector<std::string>& documents);

}  // namespace multigrid::reference
