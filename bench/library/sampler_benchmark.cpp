// The cost of batching one process's share of Kinetics with the short-cycle sampler.

#include <benchmark/benchmark.h>

#include <multigrid/short_cycle_sampler.hpp>
#include <numeric>
#include <random>
#include <vector>

namespace {

void short_cycle_sampler_epoch(benchmark::State& state) {
  std::vector<std::int64_t> indices(234619);
  std::iota(indices.begin(), indices.end(), 0);
  std::shuffle(indices.begin(), indices.end(), std::mt19937_64(3));
  std::vector<std::int64_t> shard;
  multigrid::copy_rank_shard(indices.begin(), indices.end(), 3, 8, std::back_inserter(shard));
  const int sizes[] = {32, 16, 8};
  std::size_t batches = 0;
  for (auto _ : state) {
    multigrid::short_cycle_batch_sampler sampler(shard.begin(), shard.end(), sizes, 3);
    std::int64_t checksum = 0;
    for (const auto batch : sampler) {
      checksum += *batch.first;
      ++batches;
    }
    benchmark::DoNotOptimize(checksum);
  }
  state.counters["batches_per_second"] =
      benchmark::Counter(static_cast<double>(batches), benchmark::Counter::kIsRate);
}
BENCHMARK(short_cycle_sampler_epoch);

void shard_one_rank(benchmark::State& state) {
  std::vector<std::int64_t> indices(234619);
  std::iota(indices.begin(), indices.end(), 0);
  std::vector<std::int64_t> shard;
  for (auto _ : state) {
    shard.clear();
    multigrid::copy_rank_shard(indices.begin(), indices.end(), 3, 8, std::back_inserter(shard));
    benchmark::DoNotOptimize(shard.data());
  }
}
BENCHMARK(shard_one_rank);

}  // namespace
