#include "train/accuracy.hpp"

#include <algorithm>
#include <stdexcept>

namespace multigrid::reference {

std::int64_t top_k_correct(const torch::Tensor& scores, const torch::Tensor& labels, int k) {
  if (scores.dim() != 2 || labels.dim() != 1 || labels.size(0) != scores.size(0)) {
    throw std::invalid_argument("top_k_correct: scores must be N x classes and labels N");
  }
  if (scores.size(0) == 0) return 0;
  const auto classes = scores.size(1);
  const auto kept = std::min<std::int64_t>(k, classes);
  torch::NoGradGuard no_grad;
  const auto top = std::get<1>(scores.topk(kept, /*dim=*/1));
  const auto hits = top.eq(labels.to(top.device()).view({-1, 1})).any(/*dim=*/1);
  return hits.sum().item<std::int64_t>();
}

void accuracy_counts::add(const torch::Tensor& scores, const torch::Tensor& labels) {
  top1 += top_k_correct(scores, labels, 1);
  top5 += top_k_correct(scores, labels, 5);
  total += labels.size(0);
}

void accuracy_counts::combine_across(process_group& group) {
  auto counts = torch::tensor({top1, top5, total}, torch::kInt64);
  group.all_reduce_sum(counts, "sum of evaluation accuracy counts");
  top1 = counts[0].item<std::int64_t>();
  top5 = counts[1].item<std::int64_t>();
  total = counts[2].item<std::int64_t>();
}

multi_view_accumulator::multi_view_accumulator(std::int64_t videos, std::int64_t classes)
    : scores_(torch::zeros({videos, classes}, torch::kFloat64)),
      views_(torch::zeros({videos}, torch::kInt64)),
      labels_(torch::full({videos}, -1, torch::kInt64)) {}

void multi_view_accumulator::add(const torch::Tensor& video_indices, const torch::Tensor& logits,
                                 const torch::Tensor& labels) {
  torch::NoGradGuard no_grad;
  const auto index = video_indices.to(torch::kCPU, torch::kInt64);
  if (logits.dim() != 2 || logits.size(1) != scores_.size(1) || index.dim() != 1 ||
      index.size(0) != logits.size(0) || labels.size(0) != logits.size(0)) {
    throw std::invalid_argument("multi_view_accumulator: expected N video indices, N x " +
                                std::to_string(scores_.size(1)) + " logits and N labels");
  }
  if (index.numel() > 0 && (index.min().item<std::int64_t>() < 0 ||
                            index.max().item<std::int64_t>() >= scores_.size(0))) {
    throw std::out_of_range("multi_view_accumulator: a video index is outside [0, " +
                            std::to_string(scores_.size(0)) + ")");
  }
  const auto probabilities = torch::softmax(logits.to(torch::kCPU, torch::kFloat64), 1);
  scores_.index_add_(0, index, probabilities);
  views_.index_add_(0, index, torch::ones_like(index));
  labels_.index_put_({index}, labels.to(torch::kCPU, torch::kInt64));
}

void multi_view_accumulator::combine_across(process_group& group) {
  group.all_reduce_sum(scores_, "sum of multi-view test scores");
  group.all_reduce_sum(views_, "sum of multi-view test view counts");
  group.all_reduce_max(labels_, "gathering multi-view test labels");
}

accuracy_counts multi_view_accumulator::accuracy() const {
  const auto seen = views_.gt(0).nonzero().view(-1);
  accuracy_counts counts;
  counts.add(scores_.index_select(0, seen), labels_.index_select(0, seen));
  return counts;
}

}  // namespace multigrid::reference
