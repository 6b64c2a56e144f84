#include <doctest/doctest.h>

#include <array>
#include <multigrid/batch_norm_statistics.hpp>
#include <random>
#include <vector>

using namespace multigrid;

namespace {

struct moments {
  double mean;
  double biased_variance;
  double unbiased_variance;
};

moments of(const std::vector<double>& values) {
  double sum = 0;
  for (double v : values) sum += v;
  const double mean = sum / static_cast<double>(values.size());
  double squares = 0;
  for (double v : values) squares += (v - mean) * (v - mean);
  const auto n = static_cast<double>(values.size());
  return {mean, squares / n, squares / (n - 1)};
}

}  // namespace

TEST_CASE("Pooling biased split statistics gives the statistics of the concatenated batch") {
  std::mt19937 random(7);
  std::normal_distribution<double> noise(0.0, 1.0);
  const std::size_t splits = 8;
  const std::size_t channels = 5;
  const std::size_t per_split = 13;
  std::vector<double> split_means(splits * channels);
  std::vector<double> split_variances(splits * channels);
  std::vector<std::vector<double>> per_channel(channels);
  for (std::size_t j = 0; j < splits; ++j) {
    for (std::size_t c = 0; c < channels; ++c) {
      std::vector<double> values;
      for (std::size_t i = 0; i < per_split; ++i)
        values.push_back(noise(random) * (j + 1) + c * 3.0 + j);
      const auto m = of(values);
      split_means[j * channels + c] = m.mean;
      split_variances[j * channels + c] = m.biased_variance;
      per_channel[c].insert(per_channel[c].end(), values.begin(), values.end());
    }
  }
  std::vector<double> mean(channels);
  std::vector<double> variance(channels);
  pool_split_statistics(split_means, split_variances, splits, mean, variance);
  for (std::size_t c = 0; c < channels; ++c) {
    CAPTURE(c);
    const auto whole = of(per_channel[c]);
    CHECK(mean[c] == doctest::Approx(whole.mean).epsilon(1e-12));
    CHECK(variance[c] == doctest::Approx(whole.biased_variance).epsilon(1e-12));
  }
}

TEST_CASE("Pooling matches the reference formula with unbiased running variances") {
  // mean = (1/k) sum mean_j; var = (1/k) sum var_j + (1/k) sum (mean_j - mean)^2
  const std::array<float, 6> means{1, 2, 3, 5, 7, 9};  // 3 splits x 2 channels
  const std::array<float, 6> variances{1, 4, 2, 8, 3, 12};
  std::array<float, 2> mean{};
  std::array<float, 2> variance{};
  pool_split_statistics(means.data(), variances.data(), 3, 2, mean.data(), variance.data());
  CHECK(mean[0] == doctest::Approx((1 + 3 + 7) / 3.0));
  CHECK(mean[1] == doctest::Approx((2 + 5 + 9) / 3.0));
  const double m0 = 11.0 / 3;
  CHECK(variance[0] ==
        doctest::Approx(2 + ((1 - m0) * (1 - m0) + (3 - m0) * (3 - m0) + (7 - m0) * (7 - m0)) / 3));
}

TEST_CASE("Pooling one split is the identity, and so is tiling then pooling") {
  const std::vector<double> mean{0.5, -1.25, 3};
  const std::vector<double> variance{1, 2, 0.5};
  std::vector<double> tiled_mean(4 * 3);
  std::vector<double> tiled_variance(4 * 3);
  tile_statistics(mean.data(), 3, 4, tiled_mean.data());
  tile_statistics(variance.data(), 3, 4, tiled_variance.data());
  CHECK(tiled_mean[3 * 2 + 1] == -1.25);
  std::vector<double> pooled_mean(3);
  std::vector<double> pooled_variance(3);
  pool_split_statistics(tiled_mean, tiled_variance, 4, pooled_mean, pooled_variance);
  CHECK(pooled_mean == mean);
  CHECK(pooled_variance == variance);
}

TEST_CASE("Statistics of other arithmetic types convert through double") {
  const std::vector<int> means{1, 3};
  const std::vector<int> variances{2, 2};
  std::vector<float> mean(1);
  std::vector<float> variance(1);
  pool_split_statistics(means, variances, 2, mean, variance);
  CHECK(mean[0] == doctest::Approx(2));
  CHECK(variance[0] == doctest::Approx(3));
}

TEST_CASE("accumulate_equal_weight gives the plain average of every batch") {
  const std::vector<std::vector<double>> batches{{1, 10}, {2, 20}, {6, 0}, {3, 10}};
  std::vector<float> average{99, 99};  // overwritten by the first batch
  for (std::size_t n = 0; n < batches.size(); ++n) {
    accumulate_equal_weight(batches[n].data(), 2, n, average.data());
  }
  CHECK(average[0] == doctest::Approx(3));
  CHECK(average[1] == doctest::Approx(10));
}

TEST_CASE("equal_weight_momentum makes a framework's BN update an equal-weight average") {
  double running = 42;
  const double values[] = {4, 8, 0, 4};
  for (std::size_t n = 0; n < 4; ++n) {
    const double m = equal_weight_momentum(n);
    running = (1 - m) * running + m * values[n];
  }
  CHECK(running == doctest::Approx(4));
}

TEST_CASE("population_statistics gives the mean and variance of all batches' values together") {
  // Two channels; batches of 3, 2 and 4 values per channel (counts differ, as fvcore allows).
  const std::vector<std::vector<std::vector<double>>> batches{
      {{1, 2, 3}, {10, 10, 13}}, {{4, 8}, {0, 2}}, {{-1, 0, 5, 6}, {7, 7, 7, 9}}};
  population_statistics estimate(2);
  std::vector<double> all[2];
  for (const auto& batch : batches) {
    double mean[2];
    double unbiased[2];
    for (int c = 0; c < 2; ++c) {
      const auto& values = batch[static_cast<std::size_t>(c)];
      double sum = 0;
      for (double v : values) sum += v;
      mean[c] = sum / values.size();
      double squares = 0;
      for (double v : values) squares += (v - mean[c]) * (v - mean[c]);
      unbiased[c] = squares / (values.size() - 1);
      all[c].insert(all[c].end(), values.begin(), values.end());
    }
    estimate.add(mean, unbiased, static_cast<double>(batch[0].size()));
  }
  CHECK(estimate.batches() == 3);
  float mean[2];
  float variance[2];
  estimate.result(mean, variance);
  for (int c = 0; c < 2; ++c) {
    double sum = 0;
    for (double v : all[c]) sum += v;
    const double expected_mean = sum / all[c].size();
    double squares = 0;
    for (double v : all[c]) squares += (v - expected_mean) * (v - expected_mean);
    CHECK(mean[c] == doctest::Approx(expected_mean));
    CHECK(variance[c] == doctest::Approx(squares / all[c].size()));  // biased, as fvcore
  }
}
