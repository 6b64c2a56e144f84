#pragma once
// Synchronized BatchNorm over c10d: stages whose per-process batch is below MULTIGRID.BN_BASE_SIZE
// pool BN statistics over groups of `sync_devices` consecutive ranks (the library's
// batch_norm_mode::sync_devices). Each group is a c10d subgroup of the job, created once per group
// size and reused when a later stage asks for the same size.

#include <map>
#include <memory>

#include "model/batch_norm_synchronizer.hpp"
#include "train/process_group.hpp"

namespace multigrid::reference {

/// Sums over this process's group of `sync_devices` consecutive ranks: ranks
/// [rank / sync_devices * sync_devices, ... + sync_devices).
class process_group_batch_norm_synchronizer : public batch_norm_synchronizer {
 public:
  /// Every process of the job constructs it with the same `sync_devices`, which must divide the
  /// number of processes; this creates the subgroups.
  process_group_batch_norm_synchronizer(process_group& world, int sync_devices);

  void all_reduce_sum(torch::Tensor& tensor) override;
  int group_size() const override { return group_->size(); }

 private:
  std::shared_ptr<process_group> group_;
};

/// One synchronizer per group size, created on first request. Every process must ask for the
/// same sizes in the same order (they do: all follow the same plan).
class batch_norm_sync_groups {
 public:
  explicit batch_norm_sync_groups(std::shared_ptr<process_group> world);
  std::shared_ptr<batch_norm_synchronizer> for_devices(int sync_devices);

 private:
  std::shared_ptr<process_group> world_;
  std::map<int, std::shared_ptr<batch_norm_synchronizer>> by_size_;
};

}  // namespace multigrid::reference
