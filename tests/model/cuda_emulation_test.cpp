// The emulated CUDA runtime (cuda_emulation/) that runs sub-batch BN's kernels on the CPU, tested
// with kernels made to show what it must do: every thread of every block at its own place, shared
// memory filled before each block, a missing barrier, or a block that depends on another,
// visible in one of the two orders, a barrier that some threads skip, a launch from a kernel and
// a launch CUDA would refuse reported as failures.

#include <cuda_runtime.h>
#include <doctest/doctest.h>

#include <vector>

namespace {

__global__ void place_kernel(unsigned* places) {
  const unsigned block = (blockIdx.z * gridDim.y + blockIdx.y) * gridDim.x + blockIdx.x;
  const unsigned thread = (threadIdx.z * blockDim.y + threadIdx.y) * blockDim.x + threadIdx.x;
  const unsigned threads = blockDim.x * blockDim.y * blockDim.z;
  // Offset by one, so that a thread that never ran leaves a zero.
  places[block * threads + thread] = block * threads + thread + 1;
}

// At namespace scope, where the emulation fills shared memory before each block (cuda_runtime.h).
__shared__ int block_values[64];

// Each block's sum through shared memory, read by thread 0.
template <bool Barrier>
__global__ void block_sum_kernel(const int* values, int* sums) {
  int* const shared = block_values;
  shared[threadIdx.x] = values[blockIdx.x * blockDim.x + threadIdx.x];
  if constexpr (Barrier) __syncthreads();
  if (threadIdx.x != 0) return;
  int sum = 0;
  for (unsigned t = 0; t < blockDim.x; ++t) sum += shared[t];
  sums[blockIdx.x] = sum;
}

// Reads what the block before it wrote: right only when blocks run in ascending order.
__global__ void chained_blocks_kernel(int* values) {
  if (threadIdx.x == 0) values[blockIdx.x + 1] = values[blockIdx.x] + 1;
}

// What each thread finds in shared memory before writing to it, one kernel's own and one at
// namespace scope.
__global__ void first_read_kernel(int* found) {
  __shared__ int own[8];
  const unsigned i = blockIdx.x * blockDim.x + threadIdx.x;
  found[2 * i] = own[threadIdx.x];
  found[2 * i + 1] = block_values[threadIdx.x];
  __syncthreads();
  own[threadIdx.x] = 7;
  block_values[threadIdx.x] = 7;
}

__global__ void nested_launch_kernel(cudaError_t* error) {
  if (threadIdx.x != 0) return;
  void* arguments[] = {&error};
  *error = cudaLaunchKernel(nested_launch_kernel, dim3(1), dim3(1), arguments, 0, nullptr);
}

__global__ void skipped_barrier_kernel() {
  if (threadIdx.x == 0) return;
  __syncthreads();
}

template <typename... Parameters>
cudaError_t run(void (*kernel)(Parameters...), dim3 grid, dim3 block, Parameters... arguments) {
  void* pointers[] = {&arguments..., nullptr};
  return cudaLaunchKernel(kernel, grid, block, pointers, 0, nullptr);
}

std::vector<int> block_sums(void (*kernel)(const int*, int*), cuda_emulation::run_order order) {
  std::vector<int> values(4 * 64);
  for (std::size_t i = 0; i < values.size(); ++i) values[i] = static_cast<int>(i * i % 97);
  std::vector<int> sums(4, -1);
  const cuda_emulation::scoped_order scoped(order);
  REQUIRE(run(kernel, dim3(4), dim3(64), static_cast<const int*>(values.data()), sums.data()) ==
          cudaSuccess);
  return sums;
}

}  // namespace

TEST_CASE("the CUDA emulation runs every thread of every block once, at its own place") {
  const dim3 grid(3, 2, 2);
  const dim3 block(4, 3, 2);
  std::vector<unsigned> places(12 * 24, 0);
  REQUIRE(run(place_kernel, grid, block, places.data()) == cudaSuccess);
  for (std::size_t i = 0; i < places.size(); ++i) CHECK(places[i] == i + 1);
}

TEST_CASE("the CUDA emulation shows a missing barrier in one of its two thread orders") {
  const auto expected = [] {
    std::vector<int> sums(4, 0);
    for (int i = 0; i < 4 * 64; ++i) sums[static_cast<std::size_t>(i / 64)] += i * i % 97;
    return sums;
  }();
  using cuda_emulation::run_order;
  CHECK(block_sums(block_sum_kernel<true>, run_order::ascending) == expected);
  CHECK(block_sums(block_sum_kernel<true>, run_order::descending) == expected);
  // Thread 0 reads first in ascending order, before the others have written, and last in
  // descending order.
  CHECK(block_sums(block_sum_kernel<false>, run_order::ascending) != expected);
  CHECK(block_sums(block_sum_kernel<false>, run_order::descending) == expected);
}

TEST_CASE("the CUDA emulation shows a block that reads another block's results") {
  using cuda_emulation::run_order;
  for (const auto order : {run_order::ascending, run_order::descending}) {
    const cuda_emulation::scoped_order scoped(order);
    std::vector<int> values(5, 0);
    REQUIRE(run(chained_blocks_kernel, dim3(4), dim3(8), values.data()) == cudaSuccess);
    CHECK((values == std::vector<int>{0, 1, 2, 3, 4}) == (order == run_order::ascending));
  }
}

TEST_CASE(
    "the CUDA emulation fills shared memory before each block, as a GPU leaves it undefined") {
  std::vector<int> found(2 * 3 * 8, 0);
  REQUIRE(run(first_read_kernel, dim3(3), dim3(8), found.data()) == cudaSuccess);
  for (const int value : found) CHECK(value == -1);
}

TEST_CASE("the CUDA emulation fails a barrier some threads skip, and launches CUDA refuses") {
  cudaError_t nested = cudaSuccess;
  REQUIRE(run(nested_launch_kernel, dim3(1), dim3(2), &nested) == cudaSuccess);
  CHECK(nested == cudaErrorLaunchFailure);
  CHECK(run(skipped_barrier_kernel, dim3(2), dim3(32)) == cudaErrorLaunchFailure);
  CHECK(std::string(cudaGetErrorString(cudaErrorLaunchFailure)).find("__syncthreads") !=
        std::string::npos);
  CHECK(run(skipped_barrier_kernel, dim3(1), dim3(2048)) == cudaErrorInvalidConfiguration);
  CHECK(run(skipped_barrier_kernel, dim3(1, 70000), dim3(32)) == cudaErrorInvalidConfiguration);
}
