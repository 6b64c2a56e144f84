// How long a trainer waits for the plan each iteration: one query by global iteration and by
// (epoch, iteration), and the LR alone, on the Kinetics SlowFast-R50 multigrid schedule.

#include <benchmark/benchmark.h>

#include <multigrid/plan.hpp>
#include <random>
#include <vector>

#include "allocation_counter.hpp"
#include "library/kinetics_config.hpp"

namespace {

const multigrid::plan& kinetics_plan() {
  static const multigrid::plan plan(multigrid::testing::kinetics_slowfast_multigrid(), 234619);
  return plan;
}

std::vector<std::int64_t> random_iterations(std::int64_t total) {
  std::mt19937_64 random(1);
  std::uniform_int_distribution<std::int64_t> any(0, total - 1);
  std::vector<std::int64_t> positions(4096);
  for (auto& position : positions) position = any(random);
  return positions;
}

void plan_query_by_global_iteration(benchmark::State& state) {
  const auto& plan = kinetics_plan();
  const auto positions = random_iterations(plan.total_iterations());
  std::size_t i = 0;
  const auto before = multigrid::bench::allocations.load();
  for (auto _ : state) {
    auto step = plan.at(positions[i++ & 4095]);
    benchmark::DoNotOptimize(step);
  }
  state.counters["allocations_per_query"] =
      benchmark::Counter(static_cast<double>(multigrid::bench::allocations.load() - before) /
                         static_cast<double>(state.iterations()));
}
BENCHMARK(plan_query_by_global_iteration);

void plan_query_by_epoch_and_iteration(benchmark::State& state) {
  const auto& plan = kinetics_plan();
  std::vector<std::pair<int, std::int64_t>> positions;
  for (auto global : random_iterations(plan.total_iterations())) {
    const auto step = plan.at(global);
    positions.emplace_back(step.epoch, step.iteration);
  }
  std::size_t i = 0;
  const auto before = multigrid::bench::allocations.load();
  for (auto _ : state) {
    const auto& [epoch, iteration] = positions[i++ & 4095];
    auto step = plan.at(epoch, iteration);
    benchmark::DoNotOptimize(step);
  }
  state.counters["allocations_per_query"] =
      benchmark::Counter(static_cast<double>(multigrid::bench::allocations.load() - before) /
                         static_cast<double>(state.iterations()));
}
BENCHMARK(plan_query_by_epoch_and_iteration);

void learning_rate_at_fractional_epoch(benchmark::State& state) {
  const auto& plan = kinetics_plan();
  double epoch = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(plan.lr_at(epoch));
    epoch += 0.0137;
    if (epoch >= 358) epoch = 0;
  }
}
BENCHMARK(learning_rate_at_fractional_epoch);

void build_kinetics_plan(benchmark::State& state) {
  const auto cfg = multigrid::testing::kinetics_slowfast_multigrid();
  for (auto _ : state) {
    multigrid::plan plan(cfg, 234619);
    benchmark::DoNotOptimize(plan);
  }
}
BENCHMARK(build_kinetics_plan);

}  // namespace
