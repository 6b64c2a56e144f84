#pragma once
// Counting multiply-adds from the shapes a forward pass really produces, as PySlowFast's FLOP count
// (fvcore) does: convolutions and the classifier, one multiply-add per weight use. The model's
// layers run their convolutions and linear layers through the two functions below, which add to
// the counter active on this thread, if any (one thread-local read otherwise). Counts are per
// sample (per clip), from the output's shape without its batch dimension, so a batch of any size,
// zero included, gives the per-clip cost.

#include <torch/torch.h>

#include <cstdint>

namespace multigrid::reference {

/// While alive, collects the multiply-adds of the layers run on this thread. Scopes nest: the
/// innermost collects.
class multiply_add_counter {
 public:
  multiply_add_counter();
  ~multiply_add_counter();
  multiply_add_counter(const multiply_add_counter&) = delete;
  multiply_add_counter& operator=(const multiply_add_counter&) = delete;

  /// Multiply-adds per sample counted so far.
  std::int64_t total() const noexcept { return total_; }
  void add(std::int64_t multiply_adds) noexcept { total_ += multiply_adds; }

 private:
  std::int64_t total_ = 0;
  multiply_add_counter* outer_;
};

/// Runs `conv` on `input`; counts a sample's output elements x (input channels / groups) x kernel
/// volume.
torch::Tensor counted_forward(torch::nn::Conv3d& conv, const torch::Tensor& input);
/// Runs `linear` on `input`; counts a sample's output elements x input features.
torch::Tensor counted_forward(torch::nn::Linear& linear, const torch::Tensor& input);

}  // namespace multigrid::reference
