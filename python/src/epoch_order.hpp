#pragma once
// The order in which one epoch visits the training set: the same on every process (it depends on
// the seed and the epoch only), so that the ranks' shards are disjoint. A Fisher-Yates shuffle
// driven by std::mt19937_64, whose output the C++ standard fixes, written out so that the order
// is the same with every standard library (std::shuffle's is not).

#include <cstdint>
#include <numeric>
#include <random>
#include <vector>

namespace multigrid::python {

inline std::vector<std::int64_t> epoch_order(std::int64_t samples, bool shuffle, std::uint64_t seed,
                                             std::uint64_t epoch) {
  std::vector<std::int64_t> order(static_cast<std::size_t>(samples));
  std::iota(order.begin(), order.end(), std::int64_t{0});
  if (!shuffle) return order;
  std::mt19937_64 random(seed + epoch);
  for (std::size_t i = order.size(); i > 1; --i) {
    // Modulo a 64-bit draw: its bias is below 2^-30 for any training set under 2^34 clips.
    const std::size_t j = static_cast<std::size_t>(random() % i);
    std::swap(order[i - 1], order[j]);
  }
  return order;
}

}  // namespace multigrid::python
