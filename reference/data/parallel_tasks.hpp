#pragma once
// Work spread over a number of threads that the user chooses (--jobs): a thread start the system
// refuses (its thread or memory limit) must end in an error that says so, never in
// std::terminate from a joinable std::thread left behind.

#include <cstddef>
#include <functional>
#include <stdexcept>

namespace multigrid::reference {

/// Thrown when the system does not start the threads asked for.
class thread_start_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// Calls `task(i)` for every i in [0, count), each on one of up to `jobs` threads (this one among
/// them, never more than there are tasks) that take the next index as they finish, and joins
/// them. The first exception a task throws stops the handing out of indices and is rethrown once
/// the threads are joined. When the system refuses a thread, the started ones finish the task in
/// hand and stop, and thread_start_error says how many could start.
void run_parallel_tasks(std::size_t count, int jobs, const std::function<void(std::size_t)>& task);

}  // namespace multigrid::reference
