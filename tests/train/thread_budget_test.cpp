#include "train/thread_budget.hpp"

#include <doctest/doctest.h>
#include <sched.h>

using namespace multigrid::reference;

namespace {

thread_budget budget(int cpus, int processes, int workers) {
  thread_budget result;
  result.cpus = cpus;
  result.local_processes = processes;
  result.loader_workers = workers;
  return result;
}

}  // namespace

TEST_CASE("each process takes its share of the CPUs and leaves a quarter of it to its loader") {
  CHECK(budget(2, 1, 8).intra_op_threads() == 1);
  CHECK(budget(2, 1, 0).intra_op_threads() == 2);  // no loader threads: nothing left to them
  CHECK(budget(16, 1, 8).intra_op_threads() == 12);
  CHECK(budget(16, 1, 2).intra_op_threads() == 14);  // never more than the loader's threads
  CHECK(budget(96, 8, 8).intra_op_threads() == 9);
  CHECK(budget(4, 8, 8).intra_op_threads() == 1);  // fewer CPUs than processes: one each
  CHECK(budget(1, 1, 8).intra_op_threads() == 1);
  auto requested = budget(16, 1, 8);
  requested.requested = 3;
  CHECK(requested.intra_op_threads() == 3);
}

TEST_CASE("the chosen thread count is printed with why and how to change it") {
  CHECK(budget(16, 1, 8).describe() ==
        "threads: 12 for LibTorch's operators (16 CPUs for 1 process, 4 of its 16 left to 8 "
        "loader threads, DATA_LOADER.NUM_WORKERS); set OMP_NUM_THREADS to choose");
  CHECK(budget(2, 2, 0).describe() ==
        "threads: 1 for LibTorch's operators (2 CPUs for 2 processes); set OMP_NUM_THREADS to "
        "choose");
  auto requested = budget(16, 1, 8);
  requested.requested = 3;
  CHECK(requested.describe() == "threads: 3 for LibTorch's operators (OMP_NUM_THREADS)");
}

TEST_CASE("the usable CPUs follow the affinity mask, as taskset sets it") {
  cpu_set_t original;
  REQUIRE(::sched_getaffinity(0, sizeof original, &original) == 0);
  CHECK(usable_cpus() >= 1);
  CHECK(usable_cpus() <= CPU_COUNT(&original));
  int first = 0;
  while (!CPU_ISSET(first, &original)) ++first;
  cpu_set_t one;
  CPU_ZERO(&one);
  CPU_SET(first, &one);
  REQUIRE(::sched_setaffinity(0, sizeof one, &one) == 0);
  const int pinned = usable_cpus();
  REQUIRE(::sched_setaffinity(0, sizeof original, &original) == 0);
  CHECK(pinned == 1);
}
