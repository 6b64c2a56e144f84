#pragma once
// Counts heap allocations made by the program, so benchmarks can report allocations per operation.

#include <atomic>
#include <cstddef>

namespace multigrid::bench {
extern std::atomic<std::size_t> allocations;
}
