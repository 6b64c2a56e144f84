#pragma once
// Top-k accuracy, single view (evaluation during training) and multi-view (the final test:
// TEST.NUM_ENSEMBLE_VIEWS clips x TEST.NUM_SPATIAL_CROPS crops per video, softmax scores summed
// per video, PySlowFast's DATA.ENSEMBLE_METHOD "sum").

#include <torch/torch.h>

#include <cstdint>

#include "train/process_group.hpp"

namespace multigrid::reference {

/// Rows of `scores` (N x classes) whose label (N) is among the row's k highest scores. k larger
/// than the number of classes counts every row.
std::int64_t top_k_correct(const torch::Tensor& scores, const torch::Tensor& labels, int k);

struct accuracy_counts {
  std::int64_t top1 = 0;
  std::int64_t top5 = 0;
  std::int64_t total = 0;

  void add(const torch::Tensor& scores, const torch::Tensor& labels);
  double top1_percent() const noexcept { return total ? 100.0 * top1 / total : 0; }
  double top5_percent() const noexcept { return total ? 100.0 * top5 / total : 0; }
  /// Sums the counts over the processes.
  void combine_across(process_group& group);
};

class multi_view_accumulator {
 public:
  multi_view_accumulator(std::int64_t videos, std::int64_t classes);

  /// Adds one batch of views: `video_indices` (N) says which video each row of `logits`
  /// (N x classes) belongs to, `labels` (N) its label.
  void add(const torch::Tensor& video_indices, const torch::Tensor& logits,
           const torch::Tensor& labels);

  /// Adds the other processes' views (each process tested a share of the views).
  void combine_across(process_group& group);

  /// Over the videos with at least one view.
  accuracy_counts accuracy() const;
  /// Views seen per video.
  const torch::Tensor& view_counts() const noexcept { return views_; }
  const torch::Tensor& scores() const noexcept { return scores_; }

 private:
  torch::Tensor scores_;  ///< videos x classes, float64 sums of softmax
  torch::Tensor views_;   ///< videos, int64
  torch::Tensor labels_;  ///< videos, int64; -1 until a view is seen
};

}  // namespace multigrid::reference
