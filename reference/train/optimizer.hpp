#pragma once
// SGD as the recipe trains SlowFast: momentum 0.9 (SOLVER.MOMENTUM), Nesterov, weight decay
// SOLVER.WEIGHT_DECAY on every parameter except BatchNorm's gamma and beta, which get
// BN.WEIGHT_DECAY (0). The LR of every group is set before each iteration from the plan.
//
// One parameter set and one grouping whatever the BN mode: sub-batch BN and plain BN share the
// same gamma and beta, so a stage change neither rebuilds the optimizer nor moves a parameter
// between groups (PySlowFast's rebuild decayed sub-BN's gamma and beta but not plain BN's, and its
// optimizer state then failed to reload across BN types). Momentum buffers are saved by parameter
// name, so they reload into a model whatever its BN split count.

#include <torch/torch.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "model/state_dict.hpp"
#include "train/train_config.hpp"

namespace multigrid::reference {

struct named_parameter {
  std::string name;  ///< as torch::nn::Module::named_parameters() gives it
  torch::Tensor tensor;
};

/// The model's trainable parameters in two groups.
struct parameter_groups {
  std::vector<named_parameter> regular;     ///< weight-decayed with SOLVER.WEIGHT_DECAY
  std::vector<named_parameter> batch_norm;  ///< BN gamma and beta: BN.WEIGHT_DECAY
};

/// Whether a module is a BatchNorm, given its qualified name and the module.
using batch_norm_predicate =
    std::function<bool(const std::string& qualified_name, const torch::nn::Module& module)>;

/// The default predicate: the module's name() (its C++ class unless set) contains "BatchNorm" or
/// "batch_norm", any case: torch::nn::BatchNorm1d/2d/3d and the model's sub-batch and
/// synchronized BN modules.
bool is_batch_norm_module(const std::string& qualified_name, const torch::nn::Module& module);

/// Splits the trainable parameters (requires_grad) of `model` in its named_parameters() order:
/// the direct parameters of BN modules go to `batch_norm`, all others to `regular`.
parameter_groups split_batch_norm_parameters(
    const torch::nn::Module& model,
    const batch_norm_predicate& is_batch_norm = is_batch_norm_module);

struct sgd_settings {
  double momentum = 0.9;
  double dampening = 0.0;
  bool nesterov = true;
  double weight_decay = 1e-4;
  double batch_norm_weight_decay = 0.0;
};

/// SOLVER.MOMENTUM, DAMPENING, NESTEROV, WEIGHT_DECAY and BN.WEIGHT_DECAY.
sgd_settings sgd_settings_from(const optimizer_section& section);

class training_optimizer {
 public:
  /// Group 0 holds `groups.regular`, group 1 `groups.batch_norm`. Names must be unique.
  training_optimizer(parameter_groups groups, const sgd_settings& settings);

  /// Sets the LR of every group; call before each step with the plan's LR.
  void set_learning_rate(double lr);
  double learning_rate() const;

  /// Drops the gradients (sets them undefined, so backward writes fresh ones).
  void zero_grad();
  void step();

  /// Momentum buffers by parameter name (parameters without one yet are left out).
  state_dict save() const;
  /// Restores the momentum buffers by name onto this optimizer's parameters (copying them to each
  /// parameter's device and dtype). Throws std::runtime_error naming a saved parameter this model
  /// does not have, or one whose shape differs.
  void load(const state_dict& buffers);

  torch::optim::SGD& sgd() noexcept { return *sgd_; }
  const parameter_groups& groups() const noexcept { return groups_; }
  const sgd_settings& settings() const noexcept { return settings_; }
  /// The momentum buffer of a parameter, undefined before its first step.
  torch::Tensor momentum_buffer(const torch::Tensor& parameter) const;

 private:
  parameter_groups groups_;
  sgd_settings settings_;
  std::unique_ptr<torch::optim::SGD> sgd_;
};

}  // namespace multigrid::reference
