// Pooling sub-batch BN statistics at the size of SlowFast-R50's widest layers: C = 2048, k = 8.

#include <benchmark/benchmark.h>

#include <multigrid/batch_norm_statistics.hpp>
#include <random>
#include <vector>

namespace {

void pool_split_statistics_2048_channels_8_splits(benchmark::State& state) {
  const std::size_t channels = 2048;
  const std::size_t splits = 8;
  std::mt19937 random(2);
  std::normal_distribution<float> noise;
  std::vector<float> means(channels * splits);
  std::vector<float> variances(channels * splits);
  for (auto& m : means) m = noise(random);
  for (auto& v : variances) v = 1 + noise(random) * noise(random);
  std::vector<float> mean(channels);
  std::vector<float> variance(channels);
  for (auto _ : state) {
    multigrid::pool_split_statistics(means.data(), variances.data(), splits, channels, mean.data(),
                                     variance.data());
    benchmark::DoNotOptimize(mean.data());
    benchmark::DoNotOptimize(variance.data());
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) *
                          static_cast<std::int64_t>(2 * channels * splits * sizeof(float)));
}
BENCHMARK(pool_split_statistics_2048_channels_8_splits);

void accumulate_equal_weight_2048_channels(benchmark::State& state) {
  std::vector<float> batch(2048, 1.5f);
  std::vector<float> average(2048, 0.0f);
  std::size_t n = 0;
  for (auto _ : state) {
    multigrid::accumulate_equal_weight(batch.data(), batch.size(), n++ % 200, average.data());
    benchmark::DoNotOptimize(average.data());
  }
}
BENCHMARK(accumulate_equal_weight_2048_channels);

}  // namespace
