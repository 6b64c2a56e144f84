// The CUDA kernels' division of work (split_batch_norm_kernel_plan.hpp), walked block by block and
// thread by thread on the CPU: every value is visited exactly once, at the index and channel the
// kernels use, and the sums over chunks are the sums over rows, for layouts larger than the
// kernels' emulated run (split_batch_norm_kernels_emulated_test.cpp) can take.

#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <vector>

#include "model/split_batch_norm_kernel_plan.hpp"

using namespace multigrid::reference::cuda_kernels;

namespace {

// Small and odd shapes, one channel, and a slow-pathway layer of 16 splits.
const std::vector<split_layout> layouts = {
    {1, 1, 1},   {2, 7, 3},    {4, 100, 8},     {3, 5000, 48},
    {8, 70, 33}, {2, 4485, 1}, {16, 1568, 256}, {1, 100000, 2},
};

// Values far from zero, so that a variance computed without the shift would lose digits.
double value_at(std::int64_t i) {
  return 50.0 + std::sin(0.37 * static_cast<double>(i));
}

// Calls visit(split, chunk, channel, thread row) for every thread of a launch that has a channel.
template <typename Visit>
void for_each_thread(const launch_plan& plan, const split_layout& layout, Visit&& visit) {
  for (std::int64_t split = 0; split < layout.splits; ++split) {
    for (std::int64_t chunk = 0; chunk < plan.chunks; ++chunk) {
      for (std::int64_t block = 0; block < plan.channel_blocks; ++block) {
        for (std::int64_t y = 0; y < plan.block_y; ++y) {
          for (std::int64_t x = 0; x < plan.block_x; ++x) {
            const auto channel = block * plan.block_x + x;
            if (channel < layout.channels) visit(split, chunk, channel, y);
          }
        }
      }
    }
  }
}

}  // namespace

TEST_CASE("the kernels' blocks and threads visit every value once, in its split and channel") {
  for (const auto& layout : layouts) {
    CAPTURE(layout.splits);
    CAPTURE(layout.rows);
    CAPTURE(layout.channels);
    const auto plan = plan_launch(layout);
    CHECK(plan.block_x * plan.block_y <= block_threads);
    CHECK(plan.block_x * plan.channel_blocks >= layout.channels);
    CHECK(plan.chunks >= 1);
    CHECK(plan.chunks <= 65535);
    CHECK(plan.chunks * plan.rows_per_chunk >= layout.rows);
    CHECK((plan.chunks - 1) * plan.rows_per_chunk < layout.rows);  // no empty chunk

    const auto total = layout.splits * layout.rows * layout.channels;
    std::vector<int> visits(static_cast<std::size_t>(total), 0);
    std::int64_t misplaced = 0;
    std::vector<double> partial(
        static_cast<std::size_t>(layout.splits * plan.chunks * layout.channels), 0.0);
    for_each_thread(plan, layout, [&](auto split, auto chunk, auto channel, auto y) {
      for_each_chunk_value(plan, layout, split, chunk, channel, y, [&](std::int64_t i) {
        const auto row = i / layout.channels - split * layout.rows;
        if (i < 0 || i >= total || i % layout.channels != channel || row < 0 ||
            row >= layout.rows) {
          ++misplaced;
          return;
        }
        ++visits[static_cast<std::size_t>(i)];
        partial[static_cast<std::size_t>((split * plan.chunks + chunk) * layout.channels +
                                         channel)] += value_at(i);
      });
    });
    CHECK(misplaced == 0);
    std::int64_t wrong = 0;
    for (const int count : visits) wrong += count == 1 ? 0 : 1;
    CHECK(wrong == 0);

    // The chunks' sums add up to each split's sum over its rows, channel by channel.
    std::int64_t unequal = 0;
    for (std::int64_t split = 0; split < layout.splits; ++split) {
      for (std::int64_t channel = 0; channel < layout.channels; ++channel) {
        double direct = 0.0;
        for (std::int64_t row = 0; row < layout.rows; ++row) {
          direct += value_at(value_index(layout, split, row, channel));
        }
        double chunked = 0.0;
        for (std::int64_t chunk = 0; chunk < plan.chunks; ++chunk) {
          chunked +=
              partial[static_cast<std::size_t>(partial_index(plan, layout, split, chunk, channel))];
        }
        unequal += std::abs(chunked - direct) <= 1e-9 * std::abs(direct) + 1e-9 ? 0 : 1;
      }
    }
    CHECK(unequal == 0);
  }
}
