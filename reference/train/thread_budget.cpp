#include "train/thread_budget.hpp"

#include <sched.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <thread>

#include "config/config_keys.hpp"

namespace multigrid::reference {
namespace {

/// The whole number that `text` starts with ("8" of SLURM's "8(x2)"), when positive.
std::optional<int> leading_positive_number(const std::string& text) {
  char* end = nullptr;
  const long value = std::strtol(text.c_str(), &end, 10);
  if (end == text.c_str() || value <= 0 || value > 1 << 20) return std::nullopt;
  return static_cast<int>(value);
}

/// A variable that must be exactly a positive whole number.
std::optional<int> positive_number(const std::string& text) {
  const auto value = leading_positive_number(text);
  if (!value || std::to_string(*value) != text) return std::nullopt;
  return value;
}

}  // namespace

int thread_budget::cpu_share() const {
  return std::max(1, cpus / std::max(1, local_processes));
}

int thread_budget::reserved_for_loader() const {
  const int share = cpu_share();
  // A quarter, rounded down: below 4 CPUs nothing is left aside. On 2 idle CPUs the demo trained at
  // 41 clips/s with 2 threads and 21 with 1 (its loader decodes little), while beside one busy
  // core 1 thread gave 22 and 2 gave 14: a share that small is better used whole by default, and
  // OMP_NUM_THREADS lowers it on a busy machine.
  if (loader_workers <= 0) return 0;
  return std::min({share - 1, loader_workers, share / 4});
}

int thread_budget::intra_op_threads() const {
  if (requested) return *requested;
  const int share = cpu_share();
  return std::max(1, share - reserved_for_loader());
}

std::string thread_budget::describe() const {
  const auto threads = std::to_string(intra_op_threads());
  if (requested) return "threads: " + threads + " for LibTorch's operators (OMP_NUM_THREADS)";
  const int share = cpu_share();
  std::string text = "threads: " + threads + " for LibTorch's operators (" + std::to_string(cpus) +
                     (cpus == 1 ? " CPU" : " CPUs") + " for " + std::to_string(local_processes) +
                     (local_processes == 1 ? " process" : " processes");
  if (reserved_for_loader() > 0) {
    text += ", " + std::to_string(reserved_for_loader()) + " of its " + std::to_string(share) +
            " left to " + std::to_string(loader_workers) + " loader threads, " +
            keys::data_loader_num_workers.name();
  }
  text += "); set OMP_NUM_THREADS to choose";
  if (!ignored_request.empty()) {
    text += " (OMP_NUM_THREADS=" + ignored_request + " is not a positive whole number: ignored)";
  }
  return text;
}

int usable_cpus() {
  int cpus = 0;
  cpu_set_t set;
  CPU_ZERO(&set);
  if (::sched_getaffinity(0, sizeof set, &set) == 0) cpus = CPU_COUNT(&set);
  if (cpus <= 0) cpus = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  // "max 100000" (no quota) or "200000 100000": a quota of two CPUs' time per period.
  std::ifstream quota_file("/sys/fs/cgroup/cpu.max");
  std::string quota;
  double period = 0;
  if (quota_file >> quota >> period && quota != "max" && period > 0) {
    const double quota_cpus = std::atof(quota.c_str()) / period;
    if (quota_cpus > 0) cpus = std::min(cpus, std::max(1, static_cast<int>(std::ceil(quota_cpus))));
  }
  return cpus;
}

thread_budget thread_budget_for(int usable, int world_size, int loader_workers,
                                const environment_lookup& lookup) {
  thread_budget budget;
  budget.cpus = std::max(1, usable);
  budget.local_processes = std::max(1, world_size);
  budget.loader_workers = loader_workers;
  const auto slurm_cpus = lookup("SLURM_CPUS_PER_TASK");
  const auto cpus_per_task = slurm_cpus ? leading_positive_number(*slurm_cpus) : std::nullopt;
  if (lookup("SLURM_PROCID") && cpus_per_task) {
    budget.cpus = std::min(budget.cpus, *cpus_per_task);
    budget.local_processes = 1;
  } else if (const auto local = lookup("LOCAL_WORLD_SIZE")) {
    budget.local_processes = leading_positive_number(*local).value_or(budget.local_processes);
  } else if (const auto per_node = lookup("SLURM_NTASKS_PER_NODE")) {
    budget.local_processes = leading_positive_number(*per_node).value_or(budget.local_processes);
  }
  if (const auto threads = lookup("OMP_NUM_THREADS")) {
    budget.requested = positive_number(*threads);
    if (!budget.requested) budget.ignored_request = *threads;
  }
  return budget;
}

thread_budget this_process_thread_budget(int world_size, int loader_workers) {
  return thread_budget_for(usable_cpus(), world_size, loader_workers);
}

}  // namespace multigrid::reference
