#pragma once
// How split_batch_norm_kernels.cu divides its work among CUDA blocks and threads, in plain C++
// shared by the kernels and by a CPU test that walks every block and thread of a launch: which
// rows and channels a thread visits, and that together they visit each value exactly once.

#include <algorithm>
#include <cstdint>

#ifdef __CUDACC__
#define MULTIGRID_HOST_DEVICE __host__ __device__
#else
#define MULTIGRID_HOST_DEVICE
#endif

namespace multigrid::reference::cuda_kernels {

/// Channels-last activations of split j: rows [j * rows, (j + 1) * rows) of a
/// (splits * rows, channels) matrix whose channels are contiguous.
struct split_layout {
  std::int64_t splits = 1;
  std::int64_t rows = 0;  ///< per split
  std::int64_t channels = 0;
};

inline constexpr int block_threads = 256;
/// Enough blocks to keep every multiprocessor of a large GPU busy a few times over.
inline constexpr std::int64_t wanted_blocks = 1024;
inline constexpr std::int64_t least_rows_per_chunk = 64;

/// Every kernel's launch: a grid of (channel blocks, chunks, splits). Threads along x take
/// consecutive channels of one row (consecutive memory) and keep their channel, so per-channel
/// values stay in registers and no index is divided; threads along y take every block_y-th row
/// of the block's chunk of rows.
struct launch_plan {
  std::int64_t block_x = 1;
  std::int64_t block_y = 1;
  std::int64_t channel_blocks = 1;
  std::int64_t chunks = 1;
  std::int64_t rows_per_chunk = 1;
};

inline launch_plan plan_launch(const split_layout& layout) {
  launch_plan plan;
  plan.block_x = std::min<std::int64_t>(layout.channels, 32);
  plan.block_y = block_threads / plan.block_x;
  plan.channel_blocks = (layout.channels + plan.block_x - 1) / plan.block_x;
  const std::int64_t wanted = (wanted_blocks + plan.channel_blocks * layout.splits - 1) /
                              (plan.channel_blocks * layout.splits);
  const std::int64_t most = std::max<std::int64_t>(1, layout.rows / least_rows_per_chunk);
  const std::int64_t chunks =
      std::clamp<std::int64_t>(wanted, 1, std::min<std::int64_t>(most, 65535));
  plan.rows_per_chunk = std::max<std::int64_t>(1, (layout.rows + chunks - 1) / chunks);
  // Recounted so that no chunk is empty: every chunk has a first row to read.
  plan.chunks =
      std::max<std::int64_t>(1, (layout.rows + plan.rows_per_chunk - 1) / plan.rows_per_chunk);
  return plan;
}

/// The rows [first, end) of a split that chunk `chunk` covers.
MULTIGRID_HOST_DEVICE inline std::int64_t chunk_first_row(const launch_plan& plan,
                                                          std::int64_t chunk) {
  return chunk * plan.rows_per_chunk;
}
MULTIGRID_HOST_DEVICE inline std::int64_t chunk_end_row(const launch_plan& plan,
                                                        const split_layout& layout,
                                                        std::int64_t chunk) {
  const std::int64_t end = (chunk + 1) * plan.rows_per_chunk;
  return end < layout.rows ? end : layout.rows;
}

/// The index of (split, row, channel) in the activations.
MULTIGRID_HOST_DEVICE inline std::int64_t value_index(const split_layout& layout,
                                                      std::int64_t split, std::int64_t row,
                                                      std::int64_t channel) {
  return (split * layout.rows + row) * layout.channels + channel;
}

/// Where the per-chunk partial results of (split, chunk, channel) go: (splits, chunks, channels).
MULTIGRID_HOST_DEVICE inline std::int64_t partial_index(const launch_plan& plan,
                                                        const split_layout& layout,
                                                        std::int64_t split, std::int64_t chunk,
                                                        std::int64_t channel) {
  return (split * plan.chunks + chunk) * layout.channels + channel;
}

/// Calls visit(index) for the values of one channel in `chunk` that thread row `thread_y` of a
/// block takes. The count is known before the loop, so that on the GPU the unrolled loads are
/// issued together rather than one per branch.
template <typename Visit>
MULTIGRID_HOST_DEVICE inline void for_each_chunk_value(const launch_plan& plan,
                                                       const split_layout& layout,
                                                       std::int64_t split, std::int64_t chunk,
                                                       std::int64_t channel, std::int64_t thread_y,
                                                       Visit&& visit) {
  const std::int64_t first = chunk_first_row(plan, chunk) + thread_y;
  const std::int64_t end = chunk_end_row(plan, layout, chunk);
  const std::int64_t count = first < end ? (end - first + plan.block_y - 1) / plan.block_y : 0;
  const std::int64_t start = value_index(layout, split, first, channel);
  const std::int64_t step = plan.block_y * layout.channels;
#ifdef __CUDA_ARCH__
#pragma unroll 8
#endif
  for (std::int64_t n = 0; n < count; ++n) visit(start + n * step);
}

/// Calls visit(chunk) for the chunks that thread row `thread_y` of a combining block takes:
/// the combining kernels spread a split's chunks over the block's thread rows.
template <typename Visit>
MULTIGRID_HOST_DEVICE inline void for_each_thread_chunk(const launch_plan& plan,
                                                        std::int64_t thread_y, Visit&& visit) {
  for (std::int64_t chunk = thread_y; chunk < plan.chunks; chunk += plan.block_y) visit(chunk);
}

}  // namespace multigrid::reference::cuda_kernels
