#pragma once
// The training step as CUDA graphs: one graph per distinct batch shape of the current stage (the
// short cycle gives three), captured after a few eager steps at that shape and then replayed. A
// replay launches normalisation, forward, loss, backward and SGD with one call, so the step is no
// longer bound by the host's kernel launches (eager PyTorch spends about 60 ms of host time per
// SlowFast-R50 step on an H100, more than the GPU's work at PySlowFast's per-GPU batches). The LR
// lives in a device scalar written before each replay.
//
// Graphs bake in the addresses of every tensor they touch. A stage change re-tiles sub-BN
// statistics into new tensors, and the end of an epoch (precise BN, pooling, evaluation) touches
// them too, so the graphs are dropped at each stage change and epoch end and recaptured.
// One process only: the gradient all-reduce between backward and SGD is not captured.

#include <torch/torch.h>

#include <array>
#include <functional>
#include <memory>
#include <multigrid/batch_norm_mode.hpp>
#include <string>

#include "model/slowfast.hpp"
#include "train/optimizer.hpp"

namespace multigrid::reference {

/// Whether this build can capture CUDA graphs (LibTorch with CUDA).
bool cuda_graphs_supported() noexcept;

class graphed_training_step {
 public:
  /// `report` receives a line when capture fails and the step falls back to eager execution.
  graphed_training_step(SlowFast model, training_optimizer& optimizer, torch::Device device,
                        std::array<float, 3> mean, std::array<float, 3> std,
                        std::function<void(const std::string&)> report, int warmup_steps = 3);
  ~graphed_training_step();
  graphed_training_step(const graphed_training_step&) = delete;
  graphed_training_step& operator=(const graphed_training_step&) = delete;

  /// One step on uint8 clips (N, 3, T, H, W) and int64 labels, on the host (ideally pinned) or
  /// the device, at learning rate `lr`. Returns the loss as a 0-dim device tensor.
  torch::Tensor run(const torch::Tensor& clips, const torch::Tensor& labels, double lr);

  /// Drops every graph (at a stage change and an epoch's end).
  void reset();

  /// False once a capture failed; the step then runs eagerly.
  bool capturing() const noexcept;
  int graphs() const noexcept;

 private:
  struct implementation;
  std::unique_ptr<implementation> implementation_;
};

}  // namespace multigrid::reference
