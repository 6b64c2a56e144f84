#pragma once
// Which BatchNorm a stage trains with. Multigrid fixes the number of clips BN statistics are
// computed over (MULTIGRID.BN_BASE_SIZE), whatever the stage's per-GPU batch: larger batches are
// normalised in splits (sub-batch BN), smaller ones pool statistics across devices (sync-BN).

#include <string_view>

namespace multigrid {

enum class batch_norm_type { plain, sub_batch, synchronized };

constexpr std::string_view batch_norm_type_name(batch_norm_type type) noexcept {
  switch (type) {
    case batch_norm_type::plain:
      return "plain";
    case batch_norm_type::sub_batch:
      return "sub";
    case batch_norm_type::synchronized:
      return "sync";
  }
  return "unknown";
}

struct batch_norm_mode {
  batch_norm_type type = batch_norm_type::plain;
  int splits = 1;        ///< sub-batch BN: the per-GPU batch is normalised in this many splits
  int sync_devices = 1;  ///< sync-BN: statistics are pooled over groups of this many processes

  friend bool operator==(const batch_norm_mode& a, const batch_norm_mode& b) noexcept {
    return a.type == b.type && a.splits == b.splits && a.sync_devices == b.sync_devices;
  }
  friend bool operator!=(const batch_norm_mode& a, const batch_norm_mode& b) noexcept {
    return !(a == b);
  }
};

/// PySlowFast's rule on f = per-GPU batch / BN_BASE_SIZE: f > 1 gives int(f) splits, f < 1 gives
/// sync-BN over int(1 / f) devices, f = 1 plain BN. Where the reference would crash, ours degrades:
/// the split count is lowered to the largest one that divides the per-GPU batch, and the sync group
/// to the largest one that divides the number of processes (so one process trains with plain BN).
constexpr batch_norm_mode choose_batch_norm(int per_gpu_batch, int bn_base_size,
                                            int devices) noexcept {
  batch_norm_mode mode;
  if (per_gpu_batch <= 0 || bn_base_size <= 0) return mode;
  if (per_gpu_batch > bn_base_size) {
    int splits = per_gpu_batch / bn_base_size;
    while (per_gpu_batch % splits != 0) --splits;
    if (splits > 1) mode = {batch_norm_type::sub_batch, splits, 1};
  } else if (per_gpu_batch < bn_base_size) {
    // int(1 / (per_gpu_batch / base)) computed in integers: the largest d with d * batch <= base.
    int group = bn_base_size / per_gpu_batch;
    while (group > 1 && devices % group != 0) --group;
    if (group > 1) mode = {batch_norm_type::synchronized, 1, group};
  }
  return mode;
}

/// The configured BatchNorm (BN.NORM_TYPE and friends) as the processes can run it at a per-GPU
/// batch: the split count lowered to the largest that divides the batch, the sync group to the
/// largest that divides the number of processes (where PySlowFast would crash; one process trains
/// with plain BN).
constexpr batch_norm_mode feasible_batch_norm(batch_norm_mode configured, int per_gpu_batch,
                                              int devices) noexcept {
  batch_norm_mode mode;
  if (configured.type == batch_norm_type::sub_batch && per_gpu_batch > 0) {
    int splits = configured.splits < per_gpu_batch ? configured.splits : per_gpu_batch;
    while (splits > 1 && per_gpu_batch % splits != 0) --splits;
    if (splits > 1) mode = {batch_norm_type::sub_batch, splits, 1};
  } else if (configured.type == batch_norm_type::synchronized) {
    int group = configured.sync_devices;
    while (group > 1 && devices % group != 0) --group;
    if (group > 1) mode = {batch_norm_type::synchronized, 1, group};
  }
  return mode;
}

}  // namespace multigrid
