#pragma once
// Evaluation: the single-view validation run during training and the final multi-view test. Each
// process evaluates its share of the videos; predictions are summed per video over its views
// (softmax scores, PySlowFast's "sum" ensemble) and the counts combined over the processes.

#include <array>
#include <cstdint>

#include "data/clip_loader.hpp"
#include "train/process_group.hpp"
#include "train/training_step.hpp"

namespace multigrid::reference {

struct evaluation_result {
  double top1 = 0;  ///< percent
  double top5 = 0;  ///< percent
  double loss = 0;  ///< mean cross-entropy over the views (NaN if there were none)
  std::int64_t videos = 0;
  std::int64_t broken_views = 0;  ///< views of videos that could not be decoded, left out
};

/// Runs every batch of `loader` through the model in evaluation mode.
evaluation_result evaluate(training_step& step, evaluation_loader& loader, int num_classes,
                           const clip_normalization& normalization, process_group& group);

}  // namespace multigrid::reference
