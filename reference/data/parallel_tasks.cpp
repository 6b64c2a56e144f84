#include "data/parallel_tasks.hpp"

#include <algorithm>
#include <atomic>
#include <exception>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace multigrid::reference {

void run_parallel_tasks(std::size_t count, int jobs, const std::function<void(std::size_t)>& task) {
  std::atomic<std::size_t> next{0};
  std::atomic<bool> stop{false};
  std::mutex failure_mutex;
  std::exception_ptr failure;
  const auto work = [&] {
    while (!stop) {
      const std::size_t i = next++;
      if (i >= count) return;
      try {
        task(i);
      } catch (...) {
        std::lock_guard<std::mutex> lock(failure_mutex);
        if (!failure) failure = std::current_exception();
        stop = true;
      }
    }
  };
  const auto threads_wanted = std::min(static_cast<std::size_t>(std::max(1, jobs)), count);
  std::vector<std::thread> threads;
  std::string refused;
  try {
    threads.reserve(threads_wanted - (threads_wanted > 0 ? 1 : 0));
  } catch (const std::exception& error) {
    refused = error.what();
  }
  for (std::size_t j = 1; j < threads_wanted && refused.empty(); ++j) {
    try {
      threads.emplace_back(work);
    } catch (const std::exception& error) {  // std::system_error, or std::bad_alloc for its state
      refused = error.what();
      stop = true;
      break;
    }
  }
  if (refused.empty()) work();
  for (auto& thread : threads) thread.join();
  if (!refused.empty()) {
    throw thread_start_error(
        "cannot start " + std::to_string(threads_wanted) + " threads: the system refused thread " +
        std::to_string(threads.size() + 2) + " (" + refused + "); ask for fewer jobs");
  }
  if (failure) std::rethrow_exception(failure);
}

}  // namespace multigrid::reference
