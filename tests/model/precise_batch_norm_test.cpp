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

TEST_CASE("precise BN sets the running statistics to the equal-weight batch average") {
  auto model = narrow_model(41);
  const auto data = batches(3);
  CHECK(update_precise_batch_norm(model, source_of(data), 3) == 3);

  auto mean = torch::zeros({1});
  auto var = torch::zeros({1});
  for (const auto& clips : data) {
    const auto features = fast_stem_features(model, clips);
    mean += features.mean({0, 2, 3, 4}) / 3;
    var += features.var({0, 2, 3, 4}, /*unbiased=*/true) / 3;
  }
  const auto& bn = model->s1->pathway1_stem->bn;
  CHECK(same_values(bn->running_mean, mean, 1e-4));
  CHECK(same_values(bn->running_var, var, 1e-4));
  // The momentum and the mode are back.
  CHECK(bn->momentum() == doctest::Approx(0.1));
  CHECK(model->is_training());
}

TEST_CASE("precise BN with sub-batch BN averages each split, then pools with the library") {
  auto model = narrow_model(42);
  model->set_batch_norm_mode({multigrid::batch_norm_type::sub_batch, 2, 1});
  model->eval();
  const auto data = batches(2);
  CHECK(update_precise_batch_norm(model, source_of(data), 5) == 2);  // the source ran out
  CHECK_FALSE(model->is_training());

  // Split j of the fast stem's BN averages the statistics of samples j, j + 2 over the batches.
  auto split_mean = torch::zeros({2});
  auto split_var = torch::zeros({2});
  for (const auto& clips : data) {
    const auto features = fast_stem_features(model, clips);
    for (int j = 0; j < 2; ++j) {
      const auto rows = features.index_select(0, torch::tensor({j, j + 2}));
      split_mean[j] += rows.mean().item<float>() / 2;
      split_var[j] += rows.var(/*unbiased=*/true).item<float>() / 2;
    }
  }
  auto mean = torch::zeros({1});
  auto var = torch::zeros({1});
  multigrid::pool_split_statistics(split_mean.data_ptr<float>(), split_var.data_ptr<float>(), 2, 1,
                                   mean.data_ptr<float>(), var.data_ptr<float>());
  const auto& bn = model->s1->pathway1_stem->bn;
  CHECK_FALSE(bn->pooling_pending());
  CHECK(same_values(bn->running_mean, mean, 1e-4));
  CHECK(same_values(bn->running_var, var, 1e-4));
}

TEST_CASE("precise BN without batches is an error") {
  auto model = narrow_model(43);
  CHECK_THROWS_AS(update_precise_batch_norm(model, source_of({}), 3), std::runtime_error);
  CHECK_THROWS_AS(update_precise_batch_norm(model, source_of(batches(1)), 0),
                  std::invalid_argument);
}
