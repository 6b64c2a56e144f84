#pragma once
// Measures what the progress bar and the metrics report: clips per second and the share of time
// spent waiting for the loader. The loop marks when it starts waiting for a batch, when the batch
// arrived, and when the iteration's work is done (on CUDA: after synchronising, or the work is
// not done yet).

#include <chrono>
#include <cstdint>

namespace multigrid::reference {

class throughput_meter {
 public:
  using clock = std::chrono::steady_clock;

  /// Starts an epoch's totals; the first iteration starts now.
  void begin_epoch(clock::time_point now = clock::now());
  /// The batch arrived: the time since the previous iteration ended was spent waiting for data.
  void batch_arrived(clock::time_point now = clock::now());
  /// The iteration finished with `clips` clips (over all processes).
  void iteration_done(std::int64_t clips, clock::time_point now = clock::now());

  /// The last iteration's clips per second, waiting included.
  double last_clips_per_second() const noexcept { return last_rate_; }
  double last_data_wait_share() const noexcept { return last_wait_share_; }
  /// Since begin_epoch.
  double epoch_clips_per_second() const noexcept;
  double epoch_data_wait_share() const noexcept;
  double epoch_seconds() const noexcept { return epoch_seconds_; }
  std::int64_t epoch_clips() const noexcept { return epoch_clips_; }

 private:
  clock::time_point iteration_start_{};
  clock::time_point batch_arrival_{};
  double last_rate_ = 0;
  double last_wait_share_ = 0;
  double epoch_seconds_ = 0;
  double epoch_wait_seconds_ = 0;
  std::int64_t epoch_clips_ = 0;
};

}  // namespace multigrid::reference
