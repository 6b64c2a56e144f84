#pragma once
// The checksum of a checkpoint file: FNV-1a over 64-bit little-endian words in four interleaved
// lanes (four independent multiply chains run in parallel; one chain would leave the CPU waiting
// on each multiply). Any change confined to one word always changes the result: xor and
// multiplication by an odd number are bijective, in each lane and in the final fold of the lanes.
// docs/training.md spells it out for readers in other languages.

#include <array>
#include <cstddef>
#include <cstdint>

namespace multigrid::reference {

class checkpoint_checksum {
 public:
  void add(const unsigned char* data, std::size_t size) {
    length_ += size;
    while (pending_size_ > 0 && size > 0) {  // complete a block begun by the previous call
      pending_[pending_size_++] = *data++;
      --size;
      if (pending_size_ == block) {
        mix_block(pending_.data());
        pending_size_ = 0;
      }
    }
    for (; size >= block; data += block, size -= block) mix_block(data);
    for (; size > 0; --size) pending_[pending_size_++] = *data++;
  }
  void add(const char* data, std::size_t size) {
    add(reinterpret_cast<const unsigned char*>(data), size);
  }

  std::uint64_t value() const {
    std::uint64_t hash = offset_basis;
    for (auto lane : lanes_) hash = (hash ^ lane) * prime;
    for (std::size_t i = 0; i < pending_size_; ++i) hash = (hash ^ pending_[i]) * prime;
    return (hash ^ length_) * prime;
  }

 private:
  static constexpr std::uint64_t prime = 0x100000001b3ULL;
  static constexpr std::uint64_t offset_basis = 0xcbf29ce484222325ULL;
  static constexpr std::size_t block = 32;  // one word per lane

  static std::uint64_t load(const unsigned char* bytes) {
    std::uint64_t word = 0;
    for (int i = 0; i < 8; ++i) word |= std::uint64_t{bytes[i]} << (8 * i);
    return word;
  }
  void mix_block(const unsigned char* bytes) {
    for (std::size_t lane = 0; lane < 4; ++lane) {
      lanes_[lane] = (lanes_[lane] ^ load(bytes + 8 * lane)) * prime;
    }
  }

  std::array<std::uint64_t, 4> lanes_{offset_basis, offset_basis + 1, offset_basis + 2,
                                      offset_basis + 3};
  std::uint64_t length_ = 0;
  std::array<unsigned char, block> pending_{};
  std::size_t pending_size_ = 0;
};

}  // namespace multigrid::reference
