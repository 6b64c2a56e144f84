#pragma once
// Enough of the CUDA runtime to run a .cu file's kernels on the CPU, as written, in a test:
// reference/model/split_batch_norm_kernels.cu is compiled as C++ against these headers, which
// stand in for CUDA's own on the include path of that one file (tests/model/CMakeLists.txt).
//
// A launch runs its blocks one after the other. A block's threads are fibers on the calling
// thread, each running the kernel until it calls __syncthreads() or returns; when every thread
// waits at the barrier, all go on. So `__shared__` variables can be statics: one block at a time
// uses them. They go in a section of their own that is filled with ones (NaN as floats) before
// each block, as a GPU leaves shared memory undefined; GCC ignores that section on a function
// template's statics, so shared memory that must be filled is declared at namespace scope or in
// a kernel that is not a template. Blocks, and a block's threads between barriers,
// run in ascending or descending order (cuda_emulation_order.hpp): a kernel that reads shared
// memory another thread writes without a barrier between them sees a different value in one of
// the two orders, and one that runs __syncthreads() where some of its block's threads have
// returned is a launch failure.
//
// Not emulated: warps and their intrinsics, atomics, dynamic shared memory, streams (a launch
// finishes before cudaLaunchKernel returns), device memory (kernels get host pointers),
// __launch_bounds__. A thread runs its whole phase at once, so a race that gives the same result
// in both orders (two threads adding into one place) is not seen. The fibers carry no sanitizer
// annotations: the tests that use them are not run instrumented.

#include <sys/mman.h>
#include <ucontext.h>
#include <unistd.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <new>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "cuda_emulation_order.hpp"

#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __launch_bounds__(...)
#define __shared__ static __attribute__((section("cuda_emulation_shared")))

// The linker's bounds of that section; null where no file has a __shared__ variable.
extern "C" __attribute__((weak)) char __start_cuda_emulation_shared[];
extern "C" __attribute__((weak)) char __stop_cuda_emulation_shared[];

struct dim3 {
  unsigned x = 1;
  unsigned y = 1;
  unsigned z = 1;
  constexpr dim3(unsigned x_ = 1, unsigned y_ = 1, unsigned z_ = 1) : x(x_), y(y_), z(z_) {}
};

struct CUstream_st;
using cudaStream_t = CUstream_st*;

enum cudaError_t {
  cudaSuccess = 0,
  cudaErrorInvalidConfiguration = 9,
  cudaErrorLaunchFailure = 719,
};

// The launch's shape and the running thread's place in it, as a kernel reads them.
inline dim3 gridDim;
inline dim3 blockDim;
inline dim3 blockIdx;
inline dim3 threadIdx;

namespace cuda_emulation {

/// Why the last launch failed, when it did.
inline std::string last_failure;

namespace detail {

enum class thread_state { runnable, waiting, returned };

inline constexpr std::size_t stack_bytes = 128 * 1024;

// A thread's stack, with an inaccessible page below it (stacks grow down on the machines this runs
// on): an overflow faults rather than writing into the next thread's stack.
class fiber_stack {
 public:
  fiber_stack() : guard_(static_cast<std::size_t>(sysconf(_SC_PAGESIZE))) {
    void* memory = mmap(nullptr, guard_ + stack_bytes, PROT_READ | PROT_WRITE,
                        MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
    if (memory == MAP_FAILED) throw std::bad_alloc();
    memory_ = static_cast<char*>(memory);
    if (mprotect(memory_, guard_, PROT_NONE) != 0) {
      munmap(memory_, guard_ + stack_bytes);
      throw std::bad_alloc();
    }
  }
  ~fiber_stack() { munmap(memory_, guard_ + stack_bytes); }
  fiber_stack(const fiber_stack&) = delete;
  fiber_stack& operator=(const fiber_stack&) = delete;
  char* bottom() const { return memory_ + guard_; }

 private:
  std::size_t guard_;
  char* memory_ = nullptr;
};

// Kept from launch to launch.
inline std::vector<std::unique_ptr<fiber_stack>> stacks;

struct block_run {
  std::function<void()> kernel;
  ucontext_t scheduler{};
  std::vector<ucontext_t> contexts;
  std::vector<thread_state> states;
  std::size_t current = 0;
};

inline block_run* running = nullptr;

inline void thread_entry() noexcept {
  running->kernel();
  running->states[running->current] = thread_state::returned;
  // Returning resumes the scheduler (uc_link).
}

// Runs one block to its end; returns an empty string, or why the block failed.
inline std::string run_block(block_run& run) {
  const std::size_t threads = run.contexts.size();
  for (std::size_t t = 0; t < threads; ++t) {
    ucontext_t& context = run.contexts[t];
    getcontext(&context);
    context.uc_stack.ss_sp = stacks[t]->bottom();
    context.uc_stack.ss_size = stack_bytes;
    context.uc_link = &run.scheduler;
    makecontext(&context, thread_entry, 0);
    run.states[t] = thread_state::runnable;
  }
  if (__start_cuda_emulation_shared != nullptr) {
    std::fill(__start_cuda_emulation_shared, __stop_cuda_emulation_shared, char(-1));
  }
  std::string failure;
  for (;;) {
    for (std::size_t n = 0; n < threads; ++n) {
      const std::size_t t = order == run_order::ascending ? n : threads - 1 - n;
      if (run.states[t] != thread_state::runnable) continue;
      threadIdx = dim3(static_cast<unsigned>(t % blockDim.x),
                       static_cast<unsigned>(t / blockDim.x % blockDim.y),
                       static_cast<unsigned>(t / (std::size_t{blockDim.x} * blockDim.y)));
      run.current = t;
      swapcontext(&run.scheduler, &run.contexts[t]);
    }
    std::size_t waiting = 0;
    for (const auto state : run.states) waiting += state == thread_state::waiting ? 1 : 0;
    if (waiting == 0) return failure;
    if (waiting != threads && failure.empty()) {
      failure = "__syncthreads() in a block some of whose threads have returned";
    }
    for (auto& state : run.states) {
      if (state == thread_state::waiting) state = thread_state::runnable;
    }
  }
}

inline cudaError_t fail(cudaError_t error, const std::string& why) {
  last_failure = why;
  return error;
}

template <typename... Parameters, std::size_t... I>
std::tuple<std::remove_cv_t<Parameters>...> copied(void** args, std::index_sequence<I...>) {
  return {*static_cast<std::remove_cv_t<Parameters>*>(args[I])...};
}

}  // namespace detail
}  // namespace cuda_emulation

inline void __syncthreads() {
  using namespace cuda_emulation::detail;
  running->states[running->current] = thread_state::waiting;
  swapcontext(&running->contexts[running->current], &running->scheduler);
}

inline cudaError_t cudaGetLastError() {
  return cudaSuccess;  // a launch reports its error where it returns
}

inline const char* cudaGetErrorString(cudaError_t error) {
  return error == cudaSuccess ? "no error" : cuda_emulation::last_failure.c_str();
}

/// Runs kernel(args...) on every thread of every block before returning; the arguments are
/// copied first, as a launch copies them.
template <typename... Parameters>
cudaError_t cudaLaunchKernel(void (*kernel)(Parameters...), dim3 grid, dim3 block, void** args,
                             std::size_t dynamic_shared_bytes, cudaStream_t) {
  using namespace cuda_emulation::detail;
  const std::size_t threads = std::size_t{block.x} * block.y * block.z;
  if (threads == 0 || threads > 1024 || block.z > 64 || grid.x == 0 || grid.y == 0 || grid.z == 0 ||
      grid.y > 65535 || grid.z > 65535) {
    return fail(cudaErrorInvalidConfiguration, "invalid configuration argument");
  }
  if (dynamic_shared_bytes != 0) {
    return fail(cudaErrorLaunchFailure, "dynamic shared memory is not emulated");
  }
  if (running != nullptr) return fail(cudaErrorLaunchFailure, "a launch from inside a kernel");
  const auto values = copied<Parameters...>(args, std::index_sequence_for<Parameters...>{});
  block_run run;
  run.kernel = [&] { std::apply(kernel, values); };
  run.contexts.resize(threads);
  run.states.resize(threads);
  while (stacks.size() < threads) stacks.push_back(std::make_unique<fiber_stack>());
  gridDim = grid;
  blockDim = block;
  running = &run;
  const std::size_t blocks = std::size_t{grid.x} * grid.y * grid.z;
  std::string failure;
  for (std::size_t n = 0; n < blocks && failure.empty(); ++n) {
    const std::size_t b =
        cuda_emulation::order == cuda_emulation::run_order::ascending ? n : blocks - 1 - n;
    blockIdx = dim3(static_cast<unsigned>(b % grid.x), static_cast<unsigned>(b / grid.x % grid.y),
                    static_cast<unsigned>(b / (std::size_t{grid.x} * grid.y)));
    failure = run_block(run);
  }
  running = nullptr;
  if (!failure.empty()) return fail(cudaErrorLaunchFailure, "emulated launch failed: " + failure);
  return cudaSuccess;
}
