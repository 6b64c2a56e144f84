#pragma once
// What the user watches during training. On a terminal: one progress line per epoch, redrawn in
// place and cut to the terminal's width by dropping the least important fields first. Not on a
// terminal (a cluster job's log) and in OUTPUT_DIR/stdout.log: one time-stamped line every
// LOG_PERIOD iterations with the epoch and iteration of their totals, the stage, the batch's
// shape, the LR, the loss, clips per second, the share of time spent waiting for data and the
// time left; messages and epoch summaries are time-stamped there too.

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <ctime>
#include <string>

#include "train/metrics.hpp"

namespace multigrid::reference {

struct progress_state {
  int epoch = 0;
  int epochs = 0;
  std::int64_t iteration = 0;         ///< within the epoch, 0-based, of the iteration just done
  std::int64_t iterations = 0;        ///< in the epoch
  std::int64_t global_iteration = 0;  ///< 0-based, of the iteration just done
  std::int64_t total_iterations = 0;  ///< of the schedule
  int stage = 0;
  batch_shape shape;
  double lr = 0;
  double loss = 0;  ///< running mean over the epoch
  double clips_per_second = 0;
  double data_wait_share = 0;
  double epoch_seconds = 0;  ///< elapsed in the epoch
  /// Wall-clock per iteration over this process's training so far, evaluations and checkpoints
  /// included; the run's time left is this times the iterations left.
  double seconds_per_iteration = 0;
};

/// Seconds until the last iteration of the schedule; negative when unknown.
double run_seconds_left(const progress_state& state);

/// "epoch 3/40 iter 5/10 (85/400) stage 1 B 16x8x112 lr 0.08 loss 2.3141 412.3 clips/s data 12%
/// eta 01:23:20"
std::string format_progress_fields(const progress_state& state);
/// The terminal's line, shorter than `columns`: "[####....] 5/10 00:25<00:25 epoch 3/40 ...";
/// when it does not fit, the bar goes first, then the epoch's times, the stage, the data wait,
/// the speed, the shape and the ETA, so that the epoch, iteration, LR and loss stay.
std::string format_progress_bar(const progress_state& state, std::size_t columns);
/// The line printed when an epoch ends.
std::string format_epoch_summary(const epoch_metrics& epoch, int epochs);
/// "2026-12-01 04:31:07 " in local time: the start of every line of a log.
std::string log_time_prefix(std::time_t now);

class progress_display {
 public:
  /// `interactive`: redraw a line in place on `out` (the default when `out` is a terminal);
  /// otherwise `out` gets the log's lines. `log` (may be null) always gets the log's lines.
  progress_display(std::FILE* out, bool interactive, int log_period, std::FILE* log = nullptr);
  /// A terminal when `out` is one.
  progress_display(std::FILE* out, int log_period, std::FILE* log = nullptr);

  void update(const progress_state& state);
  void end_epoch(const epoch_metrics& epoch, int epochs);
  /// A line of its own (evaluation results, warnings), not overwritten by the progress line.
  void message(const std::string& text);
  bool interactive() const noexcept { return interactive_; }

 private:
  void clear_line();
  /// To the log, and to `out` when it is not a terminal: time-stamped.
  void log_line(const std::string& text);

  std::FILE* out_;
  std::FILE* log_;
  bool interactive_;
  int log_period_;
  bool line_shown_ = false;
  std::chrono::steady_clock::time_point last_draw_{};
};

}  // namespace multigrid::reference
