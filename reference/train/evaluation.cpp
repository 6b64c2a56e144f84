#include "train/evaluation.hpp"

#include <cmath>
#include <limits>

#include "train/accuracy.hpp"

namespace multigrid::reference {

evaluation_result evaluate(training_step& step, evaluation_loader& loader, int num_classes,
                           const clip_normalization& normalization, process_group& group) {
  multi_view_accumulator views(loader.dataset().size(), num_classes);
  // Loss sum, views, broken views: summed over the processes at the end.
  double loss_sum = 0;
  double view_count = 0;
  double broken = 0;
  loader.start();
  while (auto batch = loader.next()) {
    const auto valid = batch->valid;
    const auto keep = valid.nonzero().squeeze(1);
    broken += static_cast<double>(valid.numel() - keep.numel());
    if (keep.numel() == 0) continue;
    const auto clips = batch->clips.index_select(0, keep);
    const auto labels = batch->labels.index_select(0, keep);
    const auto video_indices =
        torch::tensor(batch->video_indices, torch::kLong).index_select(0, keep);
    const auto logits = step.logits(model_input(clips, normalization)).cpu();
    loss_sum +=
        torch::nn::functional::cross_entropy(
            logits, labels, torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kSum))
            .item<double>();
    view_count += static_cast<double>(keep.numel());
    views.add(video_indices, logits, labels);
  }
  views.combine_across(group);
  auto totals = torch::tensor({loss_sum, view_count, broken}, torch::kDouble);
  group.all_reduce_sum(totals, "evaluation totals");
  const auto counts = views.accuracy();
  evaluation_result result;
  result.top1 = counts.top1_percent();
  result.top5 = counts.top5_percent();
  result.videos = counts.total;
  const double all_views = totals[1].item<double>();
  result.loss = all_views > 0 ? totals[0].item<double>() / all_views
                              : std::numeric_limits<double>::quiet_NaN();
  result.broken_views = static_cast<std::int64_t>(totals[2].item<double>());
  return result;
}

}  // namespace multigrid::reference
