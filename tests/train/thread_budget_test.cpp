#include "train/thread_budget.hpp"

#include <doctest/doctest.h>
#include <sched.h>

#include <map>
#include <optional>
#include <string>

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
  CHECK(budget(2, 1, 8).intra_op_threads() == 2);  // a quarter of 2, rounded down: nothing
  CHECK(budget(4, 1, 8).intra_op_threads() == 3);
  CHECK(budget(16, 1, 0).intra_op_threads() == 16);  // no loader threads: nothing left to them
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

namespace {

environment_lookup environment(std::map<std::string, std::string> variables) {
  return [variables](const std::string& name) -> std::optional<std::string> {
    const auto found = variables.find(name);
    if (found == variables.end()) return std::nullopt;
    return found->second;
  };
}

}  // namespace

TEST_CASE("the launcher's variables say how many processes share the machine's CPUs") {
  // torchrun: 8 processes on this machine of a 16-process job.
  auto torchrun = thread_budget_for(96, 16, 8, environment({{"LOCAL_WORLD_SIZE", "8"}}));
  CHECK(torchrun.local_processes == 8);
  CHECK(torchrun.intra_op_threads() == 9);
  // srun --cpus-per-task 12 binds each task to its own 12 CPUs: they are the task's alone.
  auto bound = thread_budget_for(
      12, 16, 8, environment({{"SLURM_PROCID", "3"}, {"SLURM_CPUS_PER_TASK", "12"}}));
  CHECK(bound.cpus == 12);
  CHECK(bound.local_processes == 1);
  CHECK(bound.intra_op_threads() == 9);
  // Without binding the task sees the whole machine, but still has 12 CPUs' worth.
  CHECK(thread_budget_for(96, 16, 8,
                          environment({{"SLURM_PROCID", "0"}, {"SLURM_CPUS_PER_TASK", "12"}}))
            .intra_op_threads() == 9);
  // srun without --cpus-per-task: its tasks per node, "4(x2)" on two machines.
  CHECK(thread_budget_for(32, 8, 2,
                          environment({{"SLURM_PROCID", "0"}, {"SLURM_NTASKS_PER_NODE", "4(x2)"}}))
            .local_processes == 4);
  // No launcher: every process of the job on this machine.
  CHECK(thread_budget_for(16, 2, 8, environment({})).local_processes == 2);
}

TEST_CASE("OMP_NUM_THREADS decides when it is a positive whole number, and is reported otherwise") {
  CHECK(thread_budget_for(16, 1, 8, environment({{"OMP_NUM_THREADS", "3"}})).intra_op_threads() ==
        3);
  const auto nested = thread_budget_for(16, 1, 8, environment({{"OMP_NUM_THREADS", "4,2"}}));
  CHECK(nested.intra_op_threads() == 12);
  CHECK(nested.describe().find("(OMP_NUM_THREADS=4,2 is not a positive whole number: ignored)") !=
        std::string::npos);
  CHECK(thread_budget_for(16, 1, 8, environment({{"OMP_NUM_THREADS", "0"}})).intra_op_threads() ==
        12);
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
