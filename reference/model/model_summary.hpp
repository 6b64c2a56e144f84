#pragma once
// What the model costs over a schedule: its parameter count and the multiply-adds per clip at
// every clip shape the schedule trains with (PySlowFast prints the same at the start of training).
// Printed by multigrid-model-summary and by the trainer.

#include <cstdint>
#include <multigrid/config.hpp>
#include <string>
#include <vector>

#include "model/slowfast.hpp"

namespace multigrid::reference {

struct clip_size {
  int frames = 0;  ///< fast-pathway frames
  int crop = 0;
  friend bool operator==(const clip_size& a, const clip_size& b) noexcept {
    return a.frames == b.frames && a.crop == b.crop;
  }
};

/// Every distinct (frames, crop) of the schedule's batches, long and short cycle, as the library's
/// stage settings give them; sorted by frames, then crop. Throws multigrid::invalid_config when
/// the configuration does not validate.
std::vector<clip_size> distinct_clip_sizes(const multigrid::config& cfg);

struct clip_cost {
  clip_size size;
  std::int64_t slow_frames = 0;
  std::int64_t multiply_adds = 0;  ///< per clip
};

struct model_summary {
  std::int64_t parameters = 0;
  std::vector<clip_cost> costs;
};

/// Counts the parameters and runs one clip at each size (see count_multiply_adds).
model_summary summarize_model(SlowFast& model, const std::vector<clip_size>& sizes);

/// A text table: the architecture, the parameter count, and G multiply-adds per clip per shape.
std::string format_model_summary(const model_summary& summary, const slowfast_options& options);

}  // namespace multigrid::reference
