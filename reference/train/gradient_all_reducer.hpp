#pragma once
// Data-parallel gradients: every process back-propagates its share of the batch, and the gradients
// are averaged over the processes before the optimizer steps, so that every process takes the
// step one process would take on the combined batch. Parameters are packed into buckets of about
// 25 MB in reverse order (backward produces the last layers' gradients first); a hook on each
// parameter copies its gradient into its bucket, and a full bucket starts its all-reduce while
// backward goes on computing earlier layers' gradients. finish() waits for all buckets and writes
// the averages into the parameters' gradients.
//
// Buckets start strictly in order, so every process issues the same collectives in the same order
// whatever order its gradients arrive in (a parameter that never gets a gradient therefore holds
// its bucket and the later ones back until finish()). One backward per step: a gradient arriving
// twice before finish() is an error. A parameter that got no gradient on this process contributes
// zeros; one that got none on any process keeps no gradient, as in a single process, so that the
// optimizer skips it. The hooks fire on every backward through the hooked parameters, so any
// other backward pass (a gradient penalty, say) must not run between finish() calls.

#include <torch/torch.h>

#include <cstddef>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "train/process_group.hpp"

namespace multigrid::reference {

class gradient_all_reducer {
 public:
  static constexpr std::size_t default_bucket_bytes = std::size_t{25} << 20;

  /// Hooks `parameters` (those that require grad). A group of one process hooks nothing.
  gradient_all_reducer(std::shared_ptr<process_group> group, std::vector<torch::Tensor> parameters,
                       std::size_t bucket_bytes = default_bucket_bytes);
  ~gradient_all_reducer();
  gradient_all_reducer(const gradient_all_reducer&) = delete;
  gradient_all_reducer& operator=(const gradient_all_reducer&) = delete;

  /// Starts the buckets still waiting, waits for all, and sets every hooked parameter's gradient
  /// to the average over the processes. Call after backward and before the optimizer's step.
  /// Throws distributed_error when a peer fails.
  void finish();

  std::size_t bucket_count() const noexcept { return buckets_.size(); }
  /// Buckets started since the last finish(): during backward, this shows the overlap.
  std::size_t buckets_started() const;

 private:
  struct slot {
    torch::Tensor parameter;
    std::size_t bucket = 0;
    std::int64_t offset = 0;    ///< in the bucket's flat buffer
    std::int64_t position = 0;  ///< among the bucket's slots: where its flag is
    bool arrived = false;
    std::size_t hook = 0;
  };
  struct bucket {
    torch::Tensor
        flat;  ///< the gradients, then one "arrived" flag per slot (summed: how many had it)
    std::int64_t gradient_elements = 0;
    std::vector<std::size_t> slots;
    std::size_t arrived = 0;
    bool started = false;
    pending_collective reduction;
  };

  void on_gradient(std::size_t index, const torch::Tensor& gradient);
  void start_ready_buckets();  // with mutex_ held
  void start(bucket& ready, std::size_t index);

  std::shared_ptr<process_group> group_;
  std::vector<slot> slots_;
  std::vector<bucket> buckets_;
  std::size_t next_bucket_ = 0;  ///< buckets start in this order
  mutable std::mutex mutex_;
};

}  // namespace multigrid::reference
