#pragma once
// One optimisation step as the loop runs it: normalise the clips on the device, forward under
// autocast (bf16 on CUDA), cross-entropy, backward, the gradient all-reduce, and SGD. The step
// reads nothing back from the device, so on CUDA it can run ahead of the GPU and be captured in a
// CUDA graph (training_step_graphs); the loss comes back as a device tensor.

#include <torch/torch.h>

#include <array>

#include "data/clip_normalization.hpp"
#include "model/slowfast.hpp"
#include "train/gradient_all_reducer.hpp"
#include "train/optimizer.hpp"

namespace multigrid::reference {

/// Moves a loader batch to the normalisation's device as the model's input: uint8 clips are
/// normalised there (a quarter of the bytes cross PCIe), float clips are taken as already
/// normalised; channels-last on CUDA, where cuDNN's 3D convolutions are fastest with it.
torch::Tensor model_input(const torch::Tensor& clips, const clip_normalization& normalization);

class training_step {
 public:
  /// `reducer` may be null (one process).
  training_step(SlowFast model, training_optimizer& optimizer, gradient_all_reducer* reducer,
                torch::Device device);

  /// Runs one step on `input` (from model_input) and `labels` (int64 on the device) at learning
  /// rate `lr`; returns the loss before the step, as a 0-dim float tensor on the device.
  torch::Tensor run(const torch::Tensor& input, const torch::Tensor& labels, double lr);

  /// The forward pass and loss alone, in evaluation mode, for validation.
  torch::Tensor logits(const torch::Tensor& input);

  bool mixed_precision() const noexcept { return mixed_precision_; }

 private:
  SlowFast model_;
  training_optimizer& optimizer_;
  gradient_all_reducer* reducer_;
  torch::Device device_;
  bool mixed_precision_ = false;
};

}  // namespace multigrid::reference
