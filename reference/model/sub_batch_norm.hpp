#pragma once
// The model's one normalisation layer: a BatchNorm3d whose training statistics are taken over the
// whole batch (plain), over k splits of consecutive clips (sub-batch BN, multigrid's large-batch
// stages), or over the batches of a group of processes (synchronized BN, its small-batch stages).
// The mode changes in place at a stage boundary: the affine parameters stay the same tensors, so
// an optimizer's state for them survives.
//
// Registered state is always that of a plain BatchNorm3d (weight, bias, running_mean, running_var),
// so checkpoints load into a layer with any split count. The per-split running statistics of
// sub-batch BN live beside it, unregistered, and are pooled into the registered ones with the
// library's pooling (multigrid::pool_split_statistics) before evaluation or saving.

#include <torch/torch.h>

#include <cstdint>
#include <memory>
#include <string>

#include "model/batch_norm_synchronizer.hpp"

namespace multigrid::reference {

/// BN.EPS and BN.MOMENTUM, shared by every norm layer of a model.
struct batch_norm_settings {
  double epsilon = 1e-5;
  double momentum = 0.1;
};

class SubBatchNorm3dImpl : public torch::nn::Module {
 public:
  explicit SubBatchNorm3dImpl(std::int64_t num_features, batch_norm_settings settings = {});

  /// Training: normalises with the statistics of the mode (plain, k splits, or the sync group) and
  /// updates the running statistics; evaluation: normalises with the pooled running statistics.
  /// Input (N, C, T, H, W). With k splits, N must be divisible by k.
  torch::Tensor forward(const torch::Tensor& input);

  /// Plain BN over the whole batch: set_splits(1) without a synchronizer.
  void set_plain();
  /// Sub-batch BN: the batch is normalised in k splits of consecutive clips (split j holds clips
  /// [j * N / k, (j + 1) * N / k), see split_batch_norm.hpp). Pools the current split statistics
  /// and tiles them into the k new splits; parameters are untouched. k = 1 is plain BN.
  void set_splits(int splits);
  /// Synchronized BN over the synchronizer's group (statistics and their gradients summed over
  /// the group). Null returns to plain BN.
  void set_synchronizer(std::shared_ptr<batch_norm_synchronizer> synchronizer);

  int splits() const noexcept { return splits_; }
  bool synchronized() const noexcept { return synchronizer_ != nullptr; }

  /// Pools the split running statistics into running_mean / running_var (PySlowFast's
  /// aggregate_stats). Does nothing with one split. Reads device tensors: not for a CUDA graph.
  void pool_statistics();
  /// Whether the split statistics changed since they were last pooled.
  bool pooling_pending() const noexcept { return pooling_pending_; }

  /// Running statistics the training forward updates: the per-split ones (splits * C values,
  /// split-major) with k > 1, else the registered ones.
  torch::Tensor training_running_mean() const;
  torch::Tensor training_running_var() const;

  /// Replaces the statistics the training forward updates (splits * C values with k > 1, else C),
  /// e.g. with precise BN's estimate; pooled before the next evaluation or save.
  void set_training_statistics(const torch::Tensor& mean, const torch::Tensor& variance);

  /// Values per channel (per split) that the last training forward normalised over: the batch's
  /// elements divided by C * splits. 0 when none since forget_last_batch().
  std::int64_t last_values_per_channel() const noexcept { return last_values_per_channel_; }
  void forget_last_batch() noexcept { last_values_per_channel_ = 0; }

  /// The momentum of the running-statistics update; precise BN changes it.
  double momentum() const noexcept { return momentum_; }
  void set_momentum(double momentum) noexcept { momentum_ = momentum; }
  double epsilon() const noexcept { return epsilon_; }
  std::int64_t num_features() const noexcept { return num_features_; }

  /// The layer's path in the model ("s2.pathway0_res1.branch2.a_bn"), used in error messages.
  const std::string& name() const noexcept { return name_; }
  void set_name(std::string name) { name_ = std::move(name); }

  /// Tiles the registered running statistics into the splits, e.g. after loading them.
  void tile_statistics_into_splits();

  torch::Tensor weight;
  torch::Tensor bias;
  torch::Tensor running_mean;
  torch::Tensor running_var;

  // The split statistics are not registered, so the module's own moves would miss them.
  void to(torch::Device device, torch::Dtype dtype, bool non_blocking = false) override;
  void to(torch::Dtype dtype, bool non_blocking = false) override;
  void to(torch::Device device, bool non_blocking = false) override;
  /// torch::save of the module writes pooled statistics; torch::load tiles them into the splits.
  void save(torch::serialize::OutputArchive& archive) const override;
  void load(torch::serialize::InputArchive& archive) override;
  void pretty_print(std::ostream& stream) const override;

 private:
  torch::Tensor forward_sub_batch(const torch::Tensor& input);
  void check_input(const torch::Tensor& input) const;

  std::int64_t num_features_;
  double epsilon_;
  double momentum_;
  int splits_ = 1;
  std::shared_ptr<batch_norm_synchronizer> synchronizer_;
  torch::Tensor split_running_mean_;  ///< splits * C, split-major, only with splits > 1
  torch::Tensor split_running_var_;
  bool pooling_pending_ = false;
  std::int64_t last_values_per_channel_ = 0;
  std::string name_ = "SubBatchNorm3d";
};

TORCH_MODULE(SubBatchNorm3d);

}  // namespace multigrid::reference
