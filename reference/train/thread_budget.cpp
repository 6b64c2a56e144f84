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

std::optional<int> positive_environment_number(const char* name) {
  const char* text = std::getenv(name);
  if (text == nullptr) return std::nullopt;
  char* end = nullptr;
  const long value = std::strtol(text, &end, 10);
  if (end == text || *end != '\0' || value <= 0 || value > 1 << 20) return std::nullopt;
  return static_cast<int>(value);
}

}  // namespace

int thread_budget::reserved_for_loader() const {
  const int share = std::max(1, cpus / std::max(1, local_processes));
  if (loader_workers <= 0 || share <= 1) return 0;
  return std::min({share - 1, loader_workers, std::max(1, (share + 3) / 4)});
}

int thread_budget::intra_op_threads() const {
  if (requested) return *requested;
  const int share = std::max(1, cpus / std::max(1, local_processes));
  return std::max(1, share - reserved_for_loader());
}

std::string thread_budget::describe() const {
  const auto threads = std::to_string(intra_op_threads());
  if (requested) return "threads: " + threads + " for LibTorch's operators (OMP_NUM_THREADS)";
  const int share = std::max(1, cpus / std::max(1, local_processes));
  std::string text = "threads: " + threads + " for LibTorch's operators (" + std::to_string(cpus) +
                     (cpus == 1 ? " CPU" : " CPUs") + " for " + std::to_string(local_processes) +
                     (local_processes == 1 ? " process" : " processes");
  if (reserved_for_loader() > 0) {
    text += ", " + std::to_string(reserved_for_loader()) + " of its " + std::to_string(share) +
            " left to " + std::to_string(loader_workers) + " loader threads, " +
            keys::data_loader_num_workers.name();
  }
  return text + "); set OMP_NUM_THREADS to choose";
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

thread_budget this_process_thread_budget(int world_size, int loader_workers) {
  thread_budget budget;
  budget.cpus = usable_cpus();
  budget.local_processes =
      positive_environment_number("LOCAL_WORLD_SIZE").value_or(std::max(1, world_size));
  budget.loader_workers = loader_workers;
  budget.requested = positive_environment_number("OMP_NUM_THREADS");
  return budget;
}

}  // namespace multigrid::reference
