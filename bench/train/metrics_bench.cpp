// The cost the metrics file adds to every iteration: one JSON line written with one append.

#include <benchmark/benchmark.h>
#include <unistd.h>

#include <filesystem>

#include "train/metrics.hpp"

namespace {

using namespace multigrid::reference;

void BM_metrics_append_iteration(benchmark::State& state) {
  const auto path = (std::filesystem::temp_directory_path() /
                     ("multigrid-bench-metrics-" + std::to_string(::getpid()) + ".jsonl"))
                        .string();
  {
    metrics_log log(path);
    iteration_metrics record;
    record.shape = {16, 16, 8, 112};
    record.lr = 0.1;
    record.loss = 2.5;
    record.clips_per_second = 400;
    record.data_wait_share = 0.1;
    for (auto _ : state) {
      ++record.global_iteration;
      record.wall_seconds += 0.1;
      log.append(record);
    }
  }
  std::filesystem::remove(path);
}
BENCHMARK(BM_metrics_append_iteration);

}  // namespace
