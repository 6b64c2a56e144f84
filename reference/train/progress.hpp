#pragma once
// What the user watches during training: on a terminal one progress bar per epoch, redrawn in
// place; in a log file (not a terminal) one plain line every LOG_PERIOD iterations. Both show the
// stage, the batch's shape, the LR, the loss, clips per second and the share of time spent
// waiting for data.

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>

#include "train/metrics.hpp"

namespace multigrid::reference {

struct progress_state {
  int epoch = 0;
  int epochs = 0;
  std::int64_t iteration = 0;   ///< within the epoch, 0-based, of the iteration just done
  std::int64_t iterations = 0;  ///< in the epoch
  int stage = 0;
  batch_shape shape;
  double lr = 0;
  double loss = 0;  ///< running mean over the epoch
  double clips_per_second = 0;
  double data_wait_share = 0;
  double epoch_seconds = 0;  ///< elapsed in the epoch
};

/// "epoch 3/40 stage 1 B 16x8x112 lr 0.0800 loss 2.314 412.3 clips/s data 12%"
std::string format_progress_fields(const progress_state& state);
/// The fields after a bar of `bar_width` cells and the iteration count and time left.
std::string format_progress_bar(const progress_state& state, int bar_width);
/// The line printed when an epoch ends.
std::string format_epoch_summary(const epoch_metrics& epoch, int epochs);

class progress_display {
 public:
  /// `interactive`: redraw a bar in place (the default when `out` is a terminal).
  progress_display(std::FILE* out, bool interactive, int log_period);
  /// A terminal when `out` is one.
  progress_display(std::FILE* out, int log_period);

  void update(const progress_state& state);
  void end_epoch(const epoch_metrics& epoch, int epochs);
  /// A line of its own (evaluation results, warnings), not overwritten by the bar.
  void message(const std::string& text);
  bool interactive() const noexcept { return interactive_; }

 private:
  void clear_bar();

  std::FILE* out_;
  bool interactive_;
  int log_period_;
  bool bar_shown_ = false;
  std::chrono::steady_clock::time_point last_draw_{};
};

}  // namespace multigrid::reference
