#include <doctest/doctest.h>

#include <cstddef>
#include <iterator>
#include <multigrid/short_cycle_sampler.hpp>
#include <numeric>
#include <set>
#include <vector>

using namespace multigrid;

namespace {
std::vector<int> iota(int n) {
  std::vector<int> values(static_cast<std::size_t>(n));
  std::iota(values.begin(), values.end(), 0);
  return values;
}
}  // namespace

TEST_CASE("The sampler cycles through the short-cycle sizes and drops the partial batch") {
  const auto indices = iota(100);
  const int sizes[] = {32, 16, 8};
  short_cycle_batch_sampler sampler(indices.begin(), indices.end(), sizes, 3);
  // 100 = 56 + 44: one full cycle, then 32 more, then 12 left (less than 16): dropped.
  REQUIRE(sampler.size() == 4);
  std::vector<std::size_t> batch_sizes;
  std::vector<int> shapes;
  std::vector<int> seen;
  for (const auto batch : sampler) {
    batch_sizes.push_back(batch.size());
    shapes.push_back(batch.shape_index);
    seen.insert(seen.end(), batch.begin(), batch.end());
  }
  CHECK(batch_sizes == std::vector<std::size_t>{32, 16, 8, 32});
  CHECK(shapes == std::vector<int>{0, 1, 2, 0});
  CHECK(seen == iota(88));
}

TEST_CASE("Without the short cycle batches are all one size") {
  const auto indices = iota(50);
  const int size = 8;
  short_cycle_batch_sampler sampler(indices.begin(), indices.end(), &size, 1);
  CHECK(sampler.size() == 6);
  for (const auto batch : sampler) {
    CHECK(batch.size() == 8);
    CHECK(batch.shape_index == 0);
  }
}

TEST_CASE("at(n) is the n-th batch of the iteration, for resuming mid-epoch") {
  const auto indices = iota(1000);
  const int sizes[] = {12, 6, 3};
  short_cycle_batch_sampler sampler(indices.begin(), indices.end(), sizes, 3);
  std::size_t number = 0;
  for (const auto batch : sampler) {
    const auto direct = sampler.at(number++);
    CHECK(direct.first == batch.first);
    CHECK(direct.last == batch.last);
    CHECK(direct.shape_index == batch.shape_index);
  }
  CHECK(number == sampler.size());
  CHECK_THROWS_AS(sampler.at(sampler.size()), std::out_of_range);
}

TEST_CASE("batches_in_epoch counts partial cycles exactly") {
  const int sizes[] = {4, 2, 1};
  CHECK(batches_in_epoch(0, sizes, 3) == 0);
  CHECK(batches_in_epoch(3, sizes, 3) == 0);
  CHECK(batches_in_epoch(4, sizes, 3) == 1);
  CHECK(batches_in_epoch(6, sizes, 3) == 2);
  CHECK(batches_in_epoch(7, sizes, 3) == 3);
  CHECK(batches_in_epoch(10, sizes, 3) == 3);
  CHECK(batches_in_epoch(11, sizes, 3) == 4);
  CHECK(batches_in_epoch(70, sizes, 3) == 30);
}

TEST_CASE("Rank shards are disjoint, equal in size, and strided like DistributedSampler") {
  const auto indices = iota(103);
  std::set<int> all;
  for (int rank = 0; rank < 4; ++rank) {
    std::vector<int> shard;
    copy_rank_shard(indices.begin(), indices.end(), rank, 4, std::back_inserter(shard));
    CHECK(shard.size() == rank_shard_size(103, 4));
    CHECK(shard.size() == 25);
    CHECK(shard.front() == rank);
    CHECK(shard[1] == rank + 4);
    all.insert(shard.begin(), shard.end());
  }
  CHECK(all.size() == 100);
  std::vector<int> sink;
  CHECK_THROWS_AS(copy_rank_shard(indices.begin(), indices.end(), 4, 4, std::back_inserter(sink)),
                  std::out_of_range);
}

namespace {

/// A forward iterator over [0, size) that fails the test when moved past its end, where a
/// pointer would be undefined behaviour that only a sanitizer sees.
class bounded_iterator {
 public:
  using iterator_category = std::forward_iterator_tag;
  using value_type = int;
  using difference_type = std::ptrdiff_t;
  using pointer = const int*;
  using reference = int;

  bounded_iterator(int position, int size) : position_(position), size_(size) {}
  int operator*() const {
    REQUIRE(position_ < size_);
    return position_;
  }
  bounded_iterator& operator++() {
    REQUIRE(position_ < size_);
    ++position_;
    return *this;
  }
  bounded_iterator operator++(int) {
    auto before = *this;
    ++*this;
    return before;
  }
  bool operator==(const bounded_iterator& other) const { return position_ == other.position_; }
  bool operator!=(const bounded_iterator& other) const { return !(*this == other); }

 private:
  int position_;
  int size_;
};

}  // namespace

TEST_CASE("Sharding fewer elements than ranks copies nothing and never leaves the range") {
  for (int size = 0; size < 4; ++size) {
    for (int rank = 0; rank < 4; ++rank) {
      CAPTURE(size);
      CAPTURE(rank);
      std::vector<int> shard;
      copy_rank_shard(bounded_iterator(0, size), bounded_iterator(size, size), rank, 4,
                      std::back_inserter(shard));
      CHECK(shard.empty());
    }
  }
  // An empty vector's iterators may be null pointers: no offset may be applied to them.
  const std::vector<int> empty;
  std::vector<int> shard;
  copy_rank_shard(empty.begin(), empty.end(), 3, 4, std::back_inserter(shard));
  CHECK(shard.empty());
}

TEST_CASE("The sampler rejects impossible cycles") {
  const auto indices = iota(10);
  const int bad[] = {4, 0, 1};
  CHECK_THROWS_AS(short_cycle_batch_sampler(indices.begin(), indices.end(), bad, 3),
                  std::invalid_argument);
  const int fine[] = {1, 1, 1, 1};
  CHECK_THROWS_AS(short_cycle_batch_sampler(indices.begin(), indices.end(), fine, 4),
                  std::invalid_argument);
}
