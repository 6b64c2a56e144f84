// A plan query must not allocate: a trainer asks every iteration, possibly from a
// CUDA-graph-friendly hot loop. This executable counts every heap allocation through a replaced
// operator new.

#include <doctest/doctest.h>

#include <atomic>
#include <cstdlib>
#include <multigrid/plan.hpp>
#include <new>

// The replacement operators below pair malloc with free on purpose; GCC cannot tell they match.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif

#include "kinetics_config.hpp"

namespace {
std::atomic<std::size_t> allocations{0};
}

void* operator new(std::size_t size) {
  allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* pointer = std::malloc(size == 0 ? 1 : size)) return pointer;
  throw std::bad_alloc();
}
void operator delete(void* pointer) noexcept {
  std::free(pointer);
}
void operator delete(void* pointer, std::size_t) noexcept {
  std::free(pointer);
}

TEST_CASE("Plan queries, LR queries and sampling do not allocate") {
  const multigrid::plan plan(multigrid::testing::kinetics_slowfast_multigrid(), 234619);
  std::vector<int> indices(5000);
  const int sizes[] = {32, 16, 8};
  const auto before = allocations.load();
  double checksum = 0;
  for (std::int64_t g = 0; g < plan.total_iterations(); g += 997) {
    const auto step = plan.at(g);
    const auto again = plan.at(step.epoch, step.iteration);
    checksum += again.lr + plan.lr_at(step.epoch_position) + plan.iterations_in_epoch(step.epoch);
    multigrid::short_cycle_batch_sampler sampler(indices.begin(), indices.end(), sizes, 3);
    for (const auto batch : sampler) checksum += static_cast<double>(batch.size());
  }
  CHECK(allocations.load() == before);
  CHECK(checksum > 0);
}
