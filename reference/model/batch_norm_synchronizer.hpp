#pragma once
// How a synchronized BatchNorm reaches its peers. The model knows nothing of process groups: the
// trainer hands each norm layer an implementation (c10d in the trainer, an in-process fake in
// tests) when a stage trains with fewer clips per process than MULTIGRID.BN_BASE_SIZE.

#include <torch/torch.h>

namespace multigrid::reference {

class batch_norm_synchronizer {
 public:
  virtual ~batch_norm_synchronizer() = default;

  /// Sums `tensor` in place over the processes of this process's sync group. Called in the same
  /// order on every member of the group, from forward and from backward.
  virtual void all_reduce_sum(torch::Tensor& tensor) = 0;

  /// Number of processes in the group (MULTIGRID's sync devices).
  virtual int group_size() const = 0;
};

}  // namespace multigrid::reference
