#pragma once
// How many threads LibTorch's operators get. Debian's LibTorch starts with one whatever the
// machine has; one per core, PyTorch's own default, ignores that the loader's threads decode on
// the same cores, and OpenMP's threads, which wait for each other at every operator, stall when
// one of them loses its core. So each process takes its share of the CPUs it may run on and leaves
// a quarter of it to its loader. OMP_NUM_THREADS, when set, decides instead: on a machine busy
// with other work, fewer threads than cores are faster (docs/training.md).

#include <optional>
#include <string>

#include "train/distributed_environment.hpp"

namespace multigrid::reference {

struct thread_budget {
  int cpus = 1;                  ///< this machine's CPUs the process may run on
  int local_processes = 1;       ///< training processes on this machine
  int loader_workers = 0;        ///< DATA_LOADER.NUM_WORKERS
  std::optional<int> requested;  ///< OMP_NUM_THREADS, when set to a positive number
  std::string ignored_request;   ///< OMP_NUM_THREADS when set to anything else

  /// The CPUs of this process's share left to the loader: a quarter, rounded down (none below 4),
  /// at most one per worker, never the whole share.
  int reserved_for_loader() const;
  int intra_op_threads() const;
  /// This process's CPUs: cpus / local_processes, at least 1.
  int cpu_share() const;
  /// "threads: 1 for LibTorch's operators (2 CPUs for 1 process, 1 of them left to 8 loader
  /// threads, DATA_LOADER.NUM_WORKERS); set OMP_NUM_THREADS to choose"
  std::string describe() const;
};

/// The CPUs this process may run on: its affinity mask, capped by a cgroup v2 CPU quota
/// (/sys/fs/cgroup/cpu.max) when one is set.
int usable_cpus();

/// The budget for this process from the CPUs it may use and the launcher's variables:
/// - srun with --cpus-per-task (SLURM_CPUS_PER_TASK): the task's CPUs are its own, one process;
/// - else the processes on this machine: LOCAL_WORLD_SIZE (torchrun), SLURM_NTASKS_PER_NODE, or
///   else `world_size` (every process on one machine);
/// - OMP_NUM_THREADS, when it is a positive whole number.
thread_budget thread_budget_for(int usable, int world_size, int loader_workers,
                                const environment_lookup& lookup = process_environment);

/// thread_budget_for(usable_cpus(), ...).
thread_budget this_process_thread_budget(int world_size, int loader_workers);

}  // namespace multigrid::reference
