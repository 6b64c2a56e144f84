#pragma once
// A small random number generator whose output is the same on every platform and standard
// library (std::shuffle and std::uniform_*_distribution are not), so a seed, an epoch and a rank
// give the same clips everywhere. Each clip gets its own stream, seeded from its position in the
// schedule, so the result does not depend on which worker thread decodes it or when.

#include <cmath>
#include <cstdint>
#include <initializer_list>
#include <stdexcept>
#include <vector>

namespace multigrid::reference {

/// SplitMix64's finaliser: a bijective mix of 64 bits.
constexpr std::uint64_t mix_bits(std::uint64_t x) noexcept {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

/// One seed from several numbers (seed, epoch, iteration, ...); the order matters.
constexpr std::uint64_t combine_seed(std::initializer_list<std::uint64_t> parts) noexcept {
  std::uint64_t state = 0x6a09e667f3bcc908ULL;
  for (const auto part : parts) state = mix_bits(state ^ mix_bits(part));
  return state;
}

/// xoshiro256** seeded through SplitMix64.
class random_stream {
 public:
  explicit random_stream(std::uint64_t seed) noexcept {
    for (auto& word : state_) {
      seed += 0x9e3779b97f4a7c15ULL;
      word = mix_bits(seed);
    }
  }

  std::uint64_t next() noexcept {
    const std::uint64_t result = rotate(state_[1] * 5, 7) * 9;
    const std::uint64_t t = state_[1] << 17;
    state_[2] ^= state_[0];
    state_[3] ^= state_[1];
    state_[1] ^= state_[2];
    state_[0] ^= state_[3];
    state_[2] ^= t;
    state_[3] = rotate(state_[3], 45);
    return result;
  }

  /// Uniform in [0, 1), 53 random bits.
  double uniform() noexcept { return static_cast<double>(next() >> 11) * 0x1.0p-53; }

  /// Uniform in [low, high] (like Python's random.uniform).
  double uniform(double low, double high) noexcept { return low + (high - low) * uniform(); }

  /// Uniform integer in [low, high], both included, without modulo bias.
  std::int64_t integer(std::int64_t low, std::int64_t high) {
    if (high < low) throw std::invalid_argument("random_stream::integer: empty range");
    const std::uint64_t range = static_cast<std::uint64_t>(high - low) + 1;
    if (range == 0) return static_cast<std::int64_t>(next());  // the full 64-bit range
    const std::uint64_t limit = ~std::uint64_t{0} - (~std::uint64_t{0} % range);
    std::uint64_t value = next();
    while (value >= limit) value = next();
    return low + static_cast<std::int64_t>(value % range);
  }

  /// True with probability p.
  bool bernoulli(double p) noexcept { return uniform() < p; }

 private:
  static constexpr std::uint64_t rotate(std::uint64_t x, int k) noexcept {
    return (x << k) | (x >> (64 - k));
  }
  std::uint64_t state_[4];
};

/// A random permutation of 0..count-1 (Fisher-Yates), the same on every platform.
inline std::vector<std::int64_t> random_permutation(std::int64_t count, std::uint64_t seed) {
  std::vector<std::int64_t> order(static_cast<std::size_t>(count));
  for (std::int64_t i = 0; i < count; ++i) order[static_cast<std::size_t>(i)] = i;
  random_stream random(seed);
  for (std::int64_t i = count - 1; i > 0; --i) {
    const auto j = random.integer(0, i);
    std::swap(order[static_cast<std::size_t>(i)], order[static_cast<std::size_t>(j)]);
  }
  return order;
}

}  // namespace multigrid::reference
