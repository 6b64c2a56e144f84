#include "allocation_counter.hpp"

#include <cstdlib>
#include <new>

// The replacement operators below pair malloc with free on purpose; GCC cannot tell they match.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif

namespace multigrid::bench {
std::atomic<std::size_t> allocations{0};
}

void* operator new(std::size_t size) {
  multigrid::bench::allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* pointer = std::malloc(size == 0 ? 1 : size)) return pointer;
  throw std::bad_alloc();
}
void operator delete(void* pointer) noexcept {
  std::free(pointer);
}
void operator delete(void* pointer, std::size_t) noexcept {
  std::free(pointer);
}
