// The CUDA kernels' division of work (split_batch_norm_kernel_plan.hpp), walked block by block and
// thread by thread on the CPU: every value is visited exactly once, at the index and channel the
// kernels use, and the sums over chunks are the sums over rows. Then the kernels' arithmetic
// (split_batch_norm_kernel_math.hpp), run thread by thread in their order, against sub-batch BN
// on the CPU. What runs only on a GPU (the launches, the loads and stores in bf16 or half) is
// checked by the CUDA tests in sub_batch_norm_test.cpp.

#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <vector>

#include "model/split_batch_norm.hpp"
#include "model/split_batch_norm_kernel_math.hpp"
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

TEST_CASE("the CUDA kernels' arithmetic, run thread by thread on the CPU, is sub-batch BN's") {
  struct example {
    std::vector<std::int64_t> shape;
    int splits;
  };
  // Two channel blocks with the second partly idle, few channels, one channel, many channels.
  const std::vector<example> examples = {{{16, 40, 2, 5, 5}, 4},
                                         {{8, 3, 4, 6, 6}, 8},
                                         {{32, 1, 2, 4, 4}, 16},
                                         {{4, 256, 1, 8, 8}, 2},
                                         {{6, 33, 3, 7, 7}, 3}};
  for (const auto& [shape, splits] : examples) {
    CAPTURE(splits);
    CAPTURE(shape[1]);
    torch::manual_seed(23);
    const auto channels_last = torch::MemoryFormat::ChannelsLast3d;
    // A mean far from zero: the shifted moments must keep the variance.
    const auto input = (torch::randn(shape) * 2 + 20).contiguous(channels_last);
    const auto dy = torch::randn(shape).contiguous(channels_last);
    const auto weight = torch::rand({shape[1]}) + 0.5;
    const auto bias = torch::randn({shape[1]});
    const split_layout layout{splits, input.numel() / (splits * shape[1]), shape[1]};
    const auto plan = plan_launch(layout);
    const float* x = input.data_ptr<float>();
    const float* g = dy.data_ptr<float>();
    const auto part = static_cast<std::size_t>(layout.splits * plan.chunks * layout.channels);
    const auto at = [&](std::int64_t split, std::int64_t chunk, std::int64_t channel) {
      return static_cast<std::size_t>(partial_index(plan, layout, split, chunk, channel));
    };
    const auto per_split = static_cast<std::size_t>(layout.splits * layout.channels);
    const auto coefficient = [&](std::int64_t split, std::int64_t channel) {
      return static_cast<std::size_t>(split * layout.channels + channel);
    };

    // Forward: moments kernel (each thread's sums added in thread-row order, as the block adds
    // them), finalize kernel, affine kernel.
    std::vector<float> moments(3 * part, 0.0f);
    for_each_thread(plan, layout, [&](auto split, auto chunk, auto channel, auto y) {
      const float shift = x[value_index(layout, split, chunk_first_row(plan, chunk), channel)];
      float sum = 0;
      float squares = 0;
      for_each_chunk_value(plan, layout, split, chunk, channel, y, [&](std::int64_t i) {
        const float d = x[i] - shift;
        sum += d;
        squares += d * d;
      });
      moments[at(split, chunk, channel)] = shift;
      moments[part + at(split, chunk, channel)] += sum;
      moments[2 * part + at(split, chunk, channel)] += squares;
    });
    // The combining kernel: per split and channel, thread rows over the chunks, their parts
    // added in thread-row order; the mean first, then the squares about it.
    const auto over_thread_rows = [&](auto part_of_chunk) {
      float total = 0;
      for (std::int64_t y = 0; y < plan.block_y; ++y) {
        float thread = 0;
        for_each_thread_chunk(plan, y, [&](std::int64_t chunk) { thread += part_of_chunk(chunk); });
        total += thread;
      }
      return total;
    };
    std::vector<forward_coefficients> forward(per_split);
    std::vector<float> running_mean(per_split, 0.0f);
    std::vector<float> running_var(per_split, 1.0f);
    for (std::int64_t split = 0; split < layout.splits; ++split) {
      for (std::int64_t channel = 0; channel < layout.channels; ++channel) {
        const auto moment = [&](std::int64_t chunk, std::size_t which) {
          return moments[which * part + at(split, chunk, channel)];
        };
        const float mean = over_thread_rows([&](std::int64_t chunk) {
                             return chunk_total(chunk_rows(plan, layout, chunk), moment(chunk, 0),
                                                moment(chunk, 1));
                           }) /
                           static_cast<float>(layout.rows);
        const float squares = over_thread_rows([&](std::int64_t chunk) {
          return chunk_squares(chunk_rows(plan, layout, chunk), moment(chunk, 0), moment(chunk, 1),
                               moment(chunk, 2), mean);
        });
        const auto i = coefficient(split, channel);
        forward[i] = finish_forward(mean, squares, layout, weight[channel].item<float>(),
                                    bias[channel].item<float>(), 1e-5f);
        running_mean[i] = updated_running(running_mean[i], forward[i].mean, 0.1f);
        running_var[i] =
            updated_running(running_var[i], unbiased_variance(forward[i].variance, layout), 0.1f);
      }
    }
    auto output = torch::empty_like(input);
    float* out = output.data_ptr<float>();
    for_each_thread(plan, layout, [&](auto split, auto chunk, auto channel, auto y) {
      const auto& f = forward[coefficient(split, channel)];
      for_each_chunk_value(plan, layout, split, chunk, channel, y,
                           [&](std::int64_t i) { out[i] = f.scale * x[i] + f.shift; });
    });

    // Backward: sums kernel, finalize kernel (one thread per channel over the splits), affine.
    std::vector<float> sums(2 * part, 0.0f);
    for_each_thread(plan, layout, [&](auto split, auto chunk, auto channel, auto y) {
      const float mean = forward[coefficient(split, channel)].mean;
      float sum_dy = 0;
      float sum_dy_xmu = 0;
      for_each_chunk_value(plan, layout, split, chunk, channel, y, [&](std::int64_t i) {
        sum_dy += g[i];
        sum_dy_xmu += g[i] * (x[i] - mean);
      });
      sums[at(split, chunk, channel)] += sum_dy;
      sums[part + at(split, chunk, channel)] += sum_dy_xmu;
    });
    std::vector<backward_coefficients> backward(per_split);
    auto affine_parts = torch::zeros({2, layout.splits, layout.channels});
    for (std::int64_t split = 0; split < layout.splits; ++split) {
      for (std::int64_t channel = 0; channel < layout.channels; ++channel) {
        const auto i = coefficient(split, channel);
        const float sum_dy =
            over_thread_rows([&](std::int64_t chunk) { return sums[at(split, chunk, channel)]; });
        const float sum_dy_xmu = over_thread_rows(
            [&](std::int64_t chunk) { return sums[part + at(split, chunk, channel)]; });
        backward[i] = finish_backward(sum_dy, sum_dy_xmu, layout, forward[i].mean,
                                      forward[i].inverse_std, weight[channel].item<float>());
        affine_parts[0][split][channel] = backward[i].weight_part;
        affine_parts[1][split][channel] = backward[i].bias_part;
      }
    }
    const auto affine_gradients = affine_parts.sum(1);  // over the splits, as the glue adds them
    const auto grad_weight = affine_gradients[0];
    const auto grad_bias = affine_gradients[1];
    auto grad_input = torch::empty_like(input);
    float* dx = grad_input.data_ptr<float>();
    for_each_thread(plan, layout, [&](auto split, auto chunk, auto channel, auto y) {
      const auto& k = backward[coefficient(split, channel)];
      for_each_chunk_value(plan, layout, split, chunk, channel, y,
                           [&](std::int64_t i) { dx[i] = k.a * g[i] + k.b * x[i] + k.c; });
    });

    // The same layer on the CPU.
    const auto reference_input = input.detach().clone().requires_grad_();
    const auto reference_weight = weight.clone().requires_grad_();
    const auto reference_bias = bias.clone().requires_grad_();
    auto reference_mean = torch::zeros({splits * layout.channels});
    auto reference_var = torch::ones({splits * layout.channels});
    const auto reference_output =
        multigrid::reference::split_batch_norm(reference_input, reference_weight, reference_bias,
                                               reference_mean, reference_var, splits, 0.1, 1e-5);
    const auto grads = torch::autograd::grad(
        {reference_output}, {reference_input, reference_weight, reference_bias}, {dy});
    CHECK(torch::allclose(output, reference_output.detach(), 1e-4, 1e-4));
    CHECK(torch::allclose(grad_input, grads[0], 1e-4, 1e-4));
    CHECK(torch::allclose(grad_weight, grads[1], 1e-4, 1e-3));
    CHECK(torch::allclose(grad_bias, grads[2], 1e-4, 1e-3));
    CHECK(torch::allclose(torch::tensor(running_mean), reference_mean, 1e-5, 1e-4));
    CHECK(torch::allclose(torch::tensor(running_var), reference_var, 1e-4, 1e-4));
  }
}
