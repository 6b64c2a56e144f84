#include "model/precise_batch_norm.hpp"

#include <doctest/doctest.h>

#include <multigrid/batch_norm_statistics.hpp>

#include "model/slow_pathway_frames.hpp"
#include "model_test_support.hpp"

using namespace multigrid::reference;
using namespace multigrid::reference::testing;

namespace {

std::vector<torch::Tensor> batches(int count) {
  std::vector<torch::Tensor> result;
  for (int i = 0; i < count; ++i) result.push_back(random_clips(4, 8, 32, 200 + i) * (1 + i) + i);
  return result;
}

std::function<std::optional<torch::Tensor>()> source_of(const std::vector<torch::Tensor>& list) {
  auto next = std::make_shared<std::size_t>(0);
  return [list, next]() -> std::optional<torch::Tensor> {
    if (*next == list.size()) return std::nullopt;
    return list[(*next)++];
  };
}

// The fast stem's conv output for a batch: what the first fast BN normalises.
torch::Tensor fast_stem_features(SlowFast& model, const torch::Tensor& clips) {
  torch::NoGradGuard no_grad;
  return model->s1->pathway1_stem->conv(clips);
}

}  // namespace

TEST_CASE("precise BN sets the running statistics to those of all its batches together") {
  auto model = narrow_model(41);
  const auto data = batches(3);
  CHECK(update_precise_batch_norm(model, source_of(data), 3) == 3);

  // fvcore's population estimate: the mean and the biased variance of every value of every batch,
  // so the spread between the batch means counts too.
  std::vector<torch::Tensor> features;
  for (const auto& clips : data) features.push_back(fast_stem_features(model, clips));
  const auto all = torch::cat(features);
  const auto mean = all.mean({0, 2, 3, 4});
  const auto var = all.var({0, 2, 3, 4}, /*unbiased=*/false);
  const auto& bn = model->s1->pathway1_stem->bn;
  CHECK(same_values(bn->running_mean, mean, 1e-4));
  CHECK(same_values(bn->running_var, var, 1e-3));
  // Not the average of the batch variances, which misses the spread of the batch means (the
  // batches here have means 0, 1 and 2).
  auto average_of_batch_variances = torch::zeros({1});
  for (const auto& f : features) average_of_batch_variances += f.var({0, 2, 3, 4}, true) / 3;
  CHECK((bn->running_var - average_of_batch_variances).item<float>() > 0.1f);
  // The momentum and the mode are back.
  CHECK(bn->momentum() == doctest::Approx(0.1));
  CHECK(model->is_training());
}

TEST_CASE("precise BN with sub-batch BN estimates each split, then pools with the library") {
  auto model = narrow_model(42);
  model->set_batch_norm_mode({multigrid::batch_norm_type::sub_batch, 2, 1});
  model->eval();
  const auto data = batches(2);
  CHECK(update_precise_batch_norm(model, source_of(data), 5) == 2);  // the source ran out
  CHECK_FALSE(model->is_training());

  // Split j of the fast stem's BN holds clips 2j and 2j + 1 of every batch: its population
  // statistics.
  auto split_mean = torch::zeros({2});
  auto split_var = torch::zeros({2});
  for (int j = 0; j < 2; ++j) {
    std::vector<torch::Tensor> rows;
    for (const auto& clips : data) {
      rows.push_back(
          fast_stem_features(model, clips).index_select(0, torch::tensor({2 * j, 2 * j + 1})));
    }
    const auto all = torch::cat(rows);
    split_mean[j] = all.mean().item<float>();
    split_var[j] = all.var(/*unbiased=*/false).item<float>();
  }
  auto mean = torch::zeros({1});
  auto var = torch::zeros({1});
  multigrid::pool_split_statistics(split_mean.data_ptr<float>(), split_var.data_ptr<float>(), 2, 1,
                                   mean.data_ptr<float>(), var.data_ptr<float>());
  const auto& bn = model->s1->pathway1_stem->bn;
  CHECK_FALSE(bn->pooling_pending());
  CHECK(same_values(bn->running_mean, mean, 1e-4));
  CHECK(same_values(bn->running_var, var, 1e-3));
}

TEST_CASE("precise BN without batches is an error") {
  auto model = narrow_model(43);
  CHECK_THROWS_AS(update_precise_batch_norm(model, source_of({}), 3), std::runtime_error);
  CHECK_THROWS_AS(update_precise_batch_norm(model, source_of(batches(1)), 0),
                  std::invalid_argument);
}
