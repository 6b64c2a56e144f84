#include "data/parallel_tasks.hpp"

#include <doctest/doctest.h>

#include <atomic>
#include <mutex>
#include <set>
#include <stdexcept>
#include <thread>
#include <vector>

using namespace multigrid::reference;

TEST_CASE("parallel tasks run each index once, on no more threads than tasks") {
  for (const int jobs : {1, 3, 1000000}) {
    CAPTURE(jobs);
    std::vector<std::atomic<int>> runs(7);
    std::mutex mutex;
    std::set<std::thread::id> threads;
    run_parallel_tasks(runs.size(), jobs, [&](std::size_t i) {
      ++runs[i];
      std::lock_guard<std::mutex> lock(mutex);
      threads.insert(std::this_thread::get_id());
    });
    for (const auto& count : runs) CHECK(count == 1);
    CHECK(threads.size() <= std::min<std::size_t>(static_cast<std::size_t>(jobs), runs.size()));
  }
  run_parallel_tasks(0, 4, [](std::size_t) { FAIL("no task to run"); });
}

TEST_CASE("the first task that throws stops the others and its exception reaches the caller") {
  // One thread: the tasks after the failing one never start.
  int started = 0;
  CHECK_THROWS_WITH_AS(run_parallel_tasks(1000, 1,
                                          [&](std::size_t i) {
                                            ++started;
                                            if (i == 3) throw std::runtime_error("task 3 failed");
                                          }),
                       "task 3 failed", std::runtime_error);
  CHECK(started == 4);
  // Several threads: the exception still reaches the caller once all are joined.
  CHECK_THROWS_WITH_AS(run_parallel_tasks(100, 3,
                                          [](std::size_t i) {
                                            if (i == 50) throw std::runtime_error("task 50 failed");
                                          }),
                       "task 50 failed", std::runtime_error);
}
