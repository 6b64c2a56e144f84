#include "train/batch_norm_sync_groups.hpp"

#include <stdexcept>
#include <string>

namespace multigrid::reference {

process_group_batch_norm_synchronizer::process_group_batch_norm_synchronizer(process_group& world,
                                                                             int sync_devices) {
  if (sync_devices < 1 || world.size() % sync_devices != 0) {
    throw std::invalid_argument("sync-BN over groups of " + std::to_string(sync_devices) +
                                " processes: must divide the job's " +
                                std::to_string(world.size()) + " processes");
  }
  const int first = world.rank() / sync_devices * sync_devices;
  group_ = world.subgroup(first, sync_devices);
}

void process_group_batch_norm_synchronizer::all_reduce_sum(torch::Tensor& tensor) {
  group_->all_reduce_sum(tensor,
                         "sync-BN all-reduce of " + std::to_string(tensor.numel()) + " statistics");
}

batch_norm_sync_groups::batch_norm_sync_groups(std::shared_ptr<process_group> world)
    : world_(std::move(world)) {}

std::shared_ptr<batch_norm_synchronizer> batch_norm_sync_groups::for_devices(int sync_devices) {
  auto& synchronizer = by_size_[sync_devices];
  if (!synchronizer) {
    synchronizer = std::make_shared<process_group_batch_norm_synchronizer>(*world_, sync_devices);
  }
  return synchronizer;
}

}  // namespace multigrid::reference
