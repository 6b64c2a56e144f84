// The CUDA kernels' division of work (split_batch_norm_kernel_plan.hpp), walked block by block and
// thread by thread on the CPU: every value is visited exactly once, at the index and channel the
// kernels use, and the sums over chunks are the sums over rows. What runs only on a GPU (the
// launch itself, the loads and stores) is checked against the CPU computation by the CUDA test
// in sub_batch_norm_test.cpp.

#include "model/split_batch_norm_kernel_plan.hpp"

#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <vector>

using namespace multigrid::reference::cuda_kernels;

namespace {

// Small and odd shapes, one channel, and a slow-pathway layer of 16 splits.
const std::vector<split_layout> layouts = {
    {1, 1, 1},   {2, 7, 3},    {4, 100, 8},     {3, 5000, 48},
    {8, 70, 33}, {2, 4485, 1}, {16, 1568, 256}, {1, 100000, 2},
};

double value_at(std::int64_t i) {
  return std::sin(0.37 * static_cast<double>(i)) + 0.25;
}

}  // namespace

TEST_CASE("the sums kernel's blocks and threads visit every value once") {
  for (const auto& layout : layouts) {
    CAPTURE(layout.splits);
    CAPTURE(layout.rows);
    CAPTURE(layout.channels);
    const auto plan = plan_sums(layout);
    CHECK(plan.block_x * plan.block_y <= block_threads);
    CHECK(plan.block_x * plan.channel_blocks >= layout.channels);
    CHECK(plan.chunks * plan.rows_per_chunk >= layout.rows);
    CHECK(plan.chunks >= 1);
    CHECK(plan.chunks <= 65535);
    CHECK((plan.chunks == 1 || plan.rows_per_chunk >= least_rows_per_chunk / 2));

    const auto total = layout.splits * layout.rows * layout.channels;
    std::vector<int> visits(static_cast<std::size_t>(total), 0);
    std::int64_t outside = 0;
    std::vector<double> partial(
        static_cast<std::size_t>(layout.splits * plan.chunks * layout.channels), 0.0);
    for (std::int64_t split = 0; split < layout.splits; ++split) {
      for (std::int64_t chunk = 0; chunk < plan.chunks; ++chunk) {
        for (std::int64_t block = 0; block < plan.channel_blocks; ++block) {
          for (std::int64_t y = 0; y < plan.block_y; ++y) {
            for (std::int64_t x = 0; x < plan.block_x; ++x) {
              const auto channel = block * plan.block_x + x;
              if (channel >= layout.channels) continue;
              for_each_chunk_row(plan, layout, chunk, y, [&](std::int64_t row) {
                const auto i = value_index(layout, split, row, channel);
                if (i < 0 || i >= total) {
                  ++outside;
                  return;
                }
                ++visits[static_cast<std::size_t>(i)];
                partial[static_cast<std::size_t>((split * plan.chunks + chunk) * layout.channels +
                                                 channel)] += value_at(i);
              });
            }
          }
        }
      }
    }
    CHECK(outside == 0);
    std::int64_t wrong = 0;
    for (const int count : visits) wrong += count == 1 ? 0 : 1;
    CHECK(wrong == 0);

    // The chunks' sums add up to each split's sum over its rows, channel by channel.
    for (std::int64_t split = 0; split < layout.splits; ++split) {
      for (std::int64_t channel = 0; channel < layout.channels; ++channel) {
        double direct = 0.0;
        for (std::int64_t row = 0; row < layout.rows; ++row) {
          direct += value_at((split * layout.rows + row) * layout.channels + channel);
        }
        double chunked = 0.0;
        for (std::int64_t chunk = 0; chunk < plan.chunks; ++chunk) {
          chunked += partial[static_cast<std::size_t>(
              (split * plan.chunks + chunk) * layout.channels + channel)];
        }
        REQUIRE(chunked == doctest::Approx(direct).epsilon(1e-9));
      }
    }
  }
}

TEST_CASE("the input-gradient kernel's blocks and threads visit every value once") {
  for (const auto& layout : layouts) {
    CAPTURE(layout.splits);
    CAPTURE(layout.rows);
    CAPTURE(layout.channels);
    const auto blocks = input_blocks_per_split(layout);
    CHECK(blocks >= 1);
    CHECK(blocks * layout.splits <= 4 * wanted_blocks + layout.splits);
    const auto per_split = layout.rows * layout.channels;
    std::vector<int> visits(static_cast<std::size_t>(layout.splits * per_split), 0);
    std::int64_t misplaced = 0;
    for (std::int64_t split = 0; split < layout.splits; ++split) {
      for (std::int64_t block = 0; block < blocks; ++block) {
        for (std::int64_t thread = 0; thread < block_threads; ++thread) {
          for_each_split_value(
              layout, blocks, block, thread, [&](std::int64_t j, std::int64_t channel) {
                const auto i = split * per_split + j;
                // The value the sums kernel calls (split, row, channel).
                misplaced += value_index(layout, split, j / layout.channels, channel) == i ? 0 : 1;
                ++visits[static_cast<std::size_t>(i)];
              });
        }
      }
    }
    CHECK(misplaced == 0);
    std::int64_t wrong = 0;
    for (const int count : visits) wrong += count == 1 ? 0 : 1;
    CHECK(wrong == 0);
  }
}
