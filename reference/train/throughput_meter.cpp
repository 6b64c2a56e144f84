#include "train/throughput_meter.hpp"

namespace multigrid::reference {
namespace {
double seconds(throughput_meter::clock::duration duration) {
  return std::chrono::duration<double>(duration).count();
}
}  // namespace

void throughput_meter::begin_epoch(clock::time_point now) {
  iteration_start_ = now;
  batch_arrival_ = now;
  epoch_seconds_ = 0;
  epoch_wait_seconds_ = 0;
  epoch_clips_ = 0;
  last_rate_ = 0;
  last_wait_share_ = 0;
}

void throughput_meter::batch_arrived(clock::time_point now) {
  batch_arrival_ = now;
}

void throughput_meter::iteration_done(std::int64_t clips, clock::time_point now) {
  const double wait = seconds(batch_arrival_ - iteration_start_);
  const double total = seconds(now - iteration_start_);
  last_rate_ = total > 0 ? static_cast<double>(clips) / total : 0;
  last_wait_share_ = total > 0 ? wait / total : 0;
  epoch_seconds_ += total;
  epoch_wait_seconds_ += wait;
  epoch_clips_ += clips;
  iteration_start_ = now;
  batch_arrival_ = now;
}

double throughput_meter::epoch_clips_per_second() const noexcept {
  return epoch_seconds_ > 0 ? static_cast<double>(epoch_clips_) / epoch_seconds_ : 0;
}

double throughput_meter::epoch_data_wait_share() const noexcept {
  return epoch_seconds_ > 0 ? epoch_wait_seconds_ / epoch_seconds_ : 0;
}

}  // namespace multigrid::reference
