#pragma once
// Batches for one epoch of one process: consecutive runs of an index sequence whose sizes follow
// the short cycle (large-batch small-crop, middle, base). Unlike PySlowFast's
// ShortCycleBatchSampler its length is exact, it always drops the last partial batch, and every
// rank that holds the same number of indices emits the same sequence of batch sizes, which
// distributed training needs: ranks whose batches differ in size would all-reduce mismatched
// gradients or wait for each other forever.

#include <array>
#include <cstddef>
#include <iterator>
#include <stdexcept>

namespace multigrid {

/// Number of full batches that `samples` indices make when batch n has size sizes[n % count].
constexpr std::size_t batches_in_epoch(std::size_t samples, const int* sizes, int count) noexcept {
  std::size_t cycle = 0;
  for (int m = 0; m < count; ++m) cycle += static_cast<std::size_t>(sizes[m]);
  if (cycle == 0) return 0;
  std::size_t batches = samples / cycle * static_cast<std::size_t>(count);
  std::size_t rest = samples % cycle;
  for (int m = 0; m < count && rest >= static_cast<std::size_t>(sizes[m]); ++m) {
    rest -= static_cast<std::size_t>(sizes[m]);
    ++batches;
  }
  return batches;
}

/// Indices per process when `samples` are sharded over `world` processes: the same on every rank,
/// each index used at most once (the remainder is left out, like a dropped last batch).
constexpr std::size_t rank_shard_size(std::size_t samples, int world) noexcept {
  return world > 0 ? samples / static_cast<std::size_t>(world) : samples;
}

/// Writes rank's shard of [first, last): elements rank, rank + world, rank + 2 world, ..., exactly
/// rank_shard_size() of them. Returns the end of the output.
template <class InputIt, class OutputIt>
OutputIt copy_rank_shard(InputIt first, InputIt last, int rank, int world, OutputIt out) {
  if (world <= 0 || rank < 0 || rank >= world) {
    throw std::out_of_range("copy_rank_shard: rank must be in [0, world)");
  }
  const auto total = static_cast<std::size_t>(std::distance(first, last));
  const std::size_t count = rank_shard_size(total, world);
  if (count == 0) return out;  // fewer elements than ranks: advancing by rank would leave the range
  std::advance(first, rank);
  for (std::size_t i = 0; i < count; ++i) {
    *out++ = *first;
    if (i + 1 < count) std::advance(first, world);
  }
  return out;
}

/// Batches over a random-access range of indices (already shuffled and sharded for this rank).
/// Each batch is a sub-range plus its shape index n % cycle_length; nothing is copied or allocated.
template <class RandomIt>
class short_cycle_batch_sampler {
 public:
  struct batch {
    RandomIt first;
    RandomIt last;
    int shape_index;  ///< index into the stage's cycle of shapes

    RandomIt begin() const { return first; }
    RandomIt end() const { return last; }
    std::size_t size() const { return static_cast<std::size_t>(last - first); }
  };

  class iterator {
   public:
    using iterator_category = std::input_iterator_tag;
    using value_type = batch;
    using difference_type = std::ptrdiff_t;
    using pointer = const batch*;
    using reference = batch;

    iterator() = default;
    batch operator*() const {
      const int m = static_cast<int>(number_ % static_cast<std::size_t>(owner_->count_));
      return {position_, position_ + owner_->sizes_[m], m};
    }
    iterator& operator++() {
      const int m = static_cast<int>(number_ % static_cast<std::size_t>(owner_->count_));
      position_ += owner_->sizes_[m];
      ++number_;
      return *this;
    }
    iterator operator++(int) {
      iterator before = *this;
      ++*this;
      return before;
    }
    friend bool operator==(const iterator& a, const iterator& b) { return a.number_ == b.number_; }
    friend bool operator!=(const iterator& a, const iterator& b) { return !(a == b); }

   private:
    friend class short_cycle_batch_sampler;
    iterator(const short_cycle_batch_sampler* owner, RandomIt position, std::size_t number)
        : owner_(owner), position_(position), number_(number) {}
    const short_cycle_batch_sampler* owner_ = nullptr;
    RandomIt position_{};
    std::size_t number_ = 0;
  };

  /// `sizes[0..count)` are the per-process batch sizes of the cycle (count 1 without the short
  /// cycle, 3 with it); all must be positive.
  short_cycle_batch_sampler(RandomIt first, RandomIt last, const int* sizes, int count)
      : first_(first), count_(count) {
    if (count < 1 || count > 3) {
      throw std::invalid_argument("short_cycle_batch_sampler: the cycle has 1 to 3 batch sizes");
    }
    for (int m = 0; m < count; ++m) {
      if (sizes[m] <= 0) throw std::invalid_argument("short_cycle_batch_sampler: batch size <= 0");
      sizes_[m] = sizes[m];
    }
    size_ = batches_in_epoch(static_cast<std::size_t>(last - first), sizes_.data(), count_);
  }

  /// The exact number of batches.
  std::size_t size() const noexcept { return size_; }
  bool empty() const noexcept { return size_ == 0; }
  iterator begin() const { return {this, first_, 0}; }
  iterator end() const { return {this, first_, size_}; }

  /// Batch `number`, in O(1): a resumed epoch starts at its batch without replaying the ones
  /// before.
  batch at(std::size_t number) const {
    if (number >= size_) throw std::out_of_range("short_cycle_batch_sampler: batch out of range");
    std::size_t cycle = 0;
    for (int m = 0; m < count_; ++m) cycle += static_cast<std::size_t>(sizes_[m]);
    std::size_t offset = number / static_cast<std::size_t>(count_) * cycle;
    const int m = static_cast<int>(number % static_cast<std::size_t>(count_));
    for (int i = 0; i < m; ++i) offset += static_cast<std::size_t>(sizes_[i]);
    const RandomIt position = first_ + static_cast<std::ptrdiff_t>(offset);
    return {position, position + sizes_[m], m};
  }

 private:
  RandomIt first_;
  std::array<int, 3> sizes_{};
  int count_ = 1;
  std::size_t size_ = 0;
};

}  // namespace multigrid
