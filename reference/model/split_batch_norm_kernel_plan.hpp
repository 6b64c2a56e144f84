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

/// The sums kernel's launch: threads along x take consecutive channels of one row (consecutive
/// memory), threads along y take every block_y-th row of the block's chunk; the grid is
/// (channel blocks, chunks, splits).
struct sums_plan {
  std::int64_t block_x = 1;
  std::int64_t block_y = 1;
  std::int64_t channel_blocks = 1;
  std::int64_t chunks = 1;
  std::int64_t rows_per_chunk = 1;
};

inline sums_plan plan_sums(const split_layout& layout) {
  sums_plan plan;
  plan.block_x = std::min<std::int64_t>(layout.channels, 32);
  plan.block_y = block_threads / plan.block_x;
  plan.channel_blocks = (layout.channels + plan.block_x - 1) / plan.block_x;
  const std::int64_t wanted = (wanted_blocks + plan.channel_blocks * layout.splits - 1) /
                              (plan.channel_blocks * layout.splits);
  const std::int64_t most = std::max<std::int64_t>(1, layout.rows / least_rows_per_chunk);
  plan.chunks = std::clamp<std::int64_t>(wanted, 1, std::min<std::int64_t>(most, 65535));
  plan.rows_per_chunk = (layout.rows + plan.chunks - 1) / plan.chunks;
  return plan;
}

/// The rows [first, end) of a split that chunk `chunk` covers.
MULTIGRID_HOST_DEVICE inline std::int64_t chunk_first_row(const sums_plan& plan,
                                                          std::int64_t chunk) {
  return chunk * plan.rows_per_chunk;
}
MULTIGRID_HOST_DEVICE inline std::int64_t chunk_end_row(const sums_plan& plan,
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

/// Calls visit(row) for the rows of `chunk` that thread row `thread_y` of a sums block takes.
template <typename Visit>
MULTIGRID_HOST_DEVICE inline void for_each_chunk_row(const sums_plan& plan,
                                                     const split_layout& layout, std::int64_t chunk,
                                                     std::int64_t thread_y, Visit&& visit) {
  const std::int64_t end = chunk_end_row(plan, layout, chunk);
  for (std::int64_t row = chunk_first_row(plan, chunk) + thread_y; row < end; row += plan.block_y) {
    visit(row);
  }
}

/// The input-gradient kernel's launch: a grid of (blocks per split, splits), each thread walking
/// its split's rows * channels values with the grid's stride.
inline std::int64_t input_blocks_per_split(const split_layout& layout) {
  const std::int64_t per_split = layout.rows * layout.channels;
  const std::int64_t needed = (per_split + block_threads - 1) / block_threads;
  const std::int64_t share = wanted_blocks * 4 / std::max<std::int64_t>(layout.splits, 1);
  return std::max<std::int64_t>(1, std::min(needed, share));
}

/// Calls visit(index within the split, channel) for the values of a split that thread `thread`
/// of block `block` of the input-gradient launch takes.
template <typename Visit>
MULTIGRID_HOST_DEVICE inline void for_each_split_value(const split_layout& layout,
                                                       std::int64_t blocks_per_split,
                                                       std::int64_t block, std::int64_t thread,
                                                       Visit&& visit) {
  const std::int64_t per_split = layout.rows * layout.channels;
  const std::int64_t stride = blocks_per_split * block_threads;
  for (std::int64_t j = block * block_threads + thread; j < per_split; j += stride) {
    visit(j, j % layout.channels);
  }
}

}  // namespace multigrid::reference::cuda_kernels
