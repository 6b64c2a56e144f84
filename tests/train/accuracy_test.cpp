#include "train/accuracy.hpp"

#include <doctest/doctest.h>

using namespace multigrid::reference;

TEST_CASE("top-k counts the rows whose label is among the k highest scores") {
  const auto scores = torch::tensor({{0.1, 0.7, 0.2, 0.0},    // label 1: top-1
                                     {0.5, 0.1, 0.3, 0.1},    // label 2: 2nd
                                     {0.4, 0.3, 0.2, 0.1},    // label 3: last
                                     {0.0, 0.0, 0.0, 1.0}});  // label 0: 2nd-4th (tie)
  const auto labels = torch::tensor({1, 2, 3, 3}, torch::kInt64);
  CHECK(top_k_correct(scores, labels, 1) == 2);
  CHECK(top_k_correct(scores, torch::tensor({1, 2, 3, 0}, torch::kInt64), 2) == 2);
  CHECK(top_k_correct(scores, labels, 3) == 3);
  CHECK(top_k_correct(scores, labels, 5) == 4);  // k beyond the classes counts every row
  CHECK(top_k_correct(torch::zeros({0, 4}), torch::zeros({0}, torch::kInt64), 1) == 0);
  CHECK_THROWS_AS(top_k_correct(scores, torch::tensor({1, 2}, torch::kInt64), 1),
                  std::invalid_argument);

  accuracy_counts counts;
  counts.add(scores, labels);
  counts.add(scores.narrow(0, 0, 2), labels.narrow(0, 0, 2));
  CHECK(counts.total == 6);
  CHECK(counts.top1 == 3);
  CHECK(counts.top5 == 6);
  CHECK(counts.top1_percent() == doctest::Approx(50));
}

TEST_CASE("multi-view testing sums each video's softmax over its views") {
  multi_view_accumulator accumulator(3, 4);
  // Video 0 (label 2): one view is confidently wrong, two mildly right; the sum is right.
  // Video 1 (label 0): one view, right. Video 2: never seen, left out.
  const auto logits = torch::tensor(
      {{0.0, 8.0, 0.0, 0.0}, {0.0, 0.0, 1.0, 0.0}, {0.0, 0.0, 1.0, 0.0}, {3.0, 0.0, 0.0, 0.0}});
  accumulator.add(torch::tensor({0, 1}, torch::kInt64), logits.narrow(0, 2, 2),
                  torch::tensor({2, 0}));
  accumulator.add(torch::tensor({0, 0}, torch::kInt64), logits.narrow(0, 0, 2),
                  torch::tensor({2, 2}));
  CHECK(torch::equal(accumulator.view_counts(), torch::tensor({3, 1, 0}, torch::kInt64)));
  const auto summed = accumulator.scores()[0];
  CHECK(summed.sum().item<double>() == doctest::Approx(3.0));
  const auto counts = accumulator.accuracy();
  CHECK(counts.total == 2);
  // Summed probabilities: video 0's class 1 gets ~1.0 + 2 x 0.17, class 2 gets 2 x 0.47 ~ 0.95:
  // the confident wrong view wins, as PySlowFast's sum ensemble would decide.
  CHECK(counts.top1 == 1);
  CHECK(counts.top5 == 2);
  CHECK_THROWS_AS(accumulator.add(torch::tensor({3}, torch::kInt64), logits.narrow(0, 0, 1),
                                  torch::tensor({0})),
                  std::out_of_range);
}
