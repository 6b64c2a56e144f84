#pragma once
// The processes of a training job, talking through torch's c10d: a TCPStore on MASTER_ADDR:
// MASTER_PORT (rank 0 serves it) for the rendezvous, then Gloo (CPU tensors) or NCCL (CUDA
// tensors, when LibTorch has it) for the collectives. A job of one process creates neither and
// every collective is the identity.
//
// Every collective waits at most the configured timeout (DIST_TIMEOUT_SECONDS). When a peer dies
// its connections close and the survivors' collectives fail at once; when it hangs they fail at
// the timeout. Either way distributed_error names this process's rank and the operation, so the
// job stops with a message instead of hanging.

#include <torch/torch.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "train/distributed_environment.hpp"
#include "train/train_config.hpp"

namespace multigrid::reference {

/// A collective or the rendezvous failed or timed out.
class distributed_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

enum class collective_backend { none, gloo, nccl };

struct process_group_options {
  std::chrono::milliseconds timeout{std::chrono::seconds(600)};
  collective_backend backend = collective_backend::gloo;  ///< none is chosen for a world of one
};

/// Whether this LibTorch can run NCCL (built with it); Gloo is checked at build time.
bool nccl_available() noexcept;

/// DIST_BACKEND and DIST_TIMEOUT_SECONDS for a model on `device`: NCCL for CUDA tensors when
/// DIST_BACKEND is nccl and LibTorch has it, Gloo otherwise (CPU tensors always).
process_group_options process_group_options_for(const train_config& cfg,
                                                const torch::Device& device);

/// An operation started in the background (all_reduce_sum_async); wait() before using its result.
class pending_collective {
 public:
  pending_collective() = default;
  /// Blocks until done; throws distributed_error naming the rank and the operation. Waiting on
  /// an empty or finished one does nothing.
  void wait();
  bool pending() const noexcept { return state_ != nullptr; }

 private:
  friend class process_group;
  struct state;
  std::shared_ptr<state> state_;
};

/// The c10d objects of a group (defined in process_group.cpp).
struct process_group_connection;

class process_group : public std::enable_shared_from_this<process_group> {
 public:
  /// Joins the job described by `environment` (rendezvous included); a world of one joins nothing.
  static std::shared_ptr<process_group> join(const distributed_environment& environment,
                                             const process_group_options& options);
  ~process_group();
  process_group(const process_group&) = delete;
  process_group& operator=(const process_group&) = delete;

  int rank() const noexcept { return rank_; }
  int size() const noexcept { return size_; }
  collective_backend backend() const noexcept { return backend_; }
  std::string description() const;  ///< "rank 1 of 4 (gloo)"

  /// Sums a tensor in place over all processes; `what` names the operation in errors.
  void all_reduce_sum(torch::Tensor& tensor, const std::string& what);
  /// Sums several tensors in place, coalesced into one collective per dtype and device.
  void all_reduce_sum(std::vector<torch::Tensor>& tensors, const std::string& what);
  /// Element-wise maximum, in place.
  void all_reduce_max(torch::Tensor& tensor, const std::string& what);
  /// Starts a sum in the background. The tensor must stay untouched until wait().
  pending_collective all_reduce_sum_async(torch::Tensor tensor, std::string what);
  /// Copies rank `root`'s tensor into everyone's, in place.
  void broadcast(torch::Tensor& tensor, int root, const std::string& what);
  void barrier(const std::string& what);
  /// Every process's `mine`, by rank, on every process (byte strings of any lengths).
  std::vector<std::string> all_gather_bytes(const std::string& mine, const std::string& what);

  /// The group of ranks [first_rank, first_rank + count), which must hold this rank. Every member
  /// calls it with the same arguments, in the same order relative to its other subgroup calls;
  /// non-members need not call it. A subgroup of one talks to nobody.
  std::shared_ptr<process_group> subgroup(int first_rank, int count);

 private:
  process_group() = default;
  enum class operation { sum, max, broadcast, barrier };
  pending_collective start(operation kind, torch::Tensor tensor, int root, std::string what);

  int rank_ = 0;
  int size_ = 1;
  int first_global_rank_ = 0;  ///< for messages: a subgroup's ranks are named as the job's
  bool is_subgroup_ = false;
  std::string master_address_;  ///< picks the network interface of subgroups' connections
  collective_backend backend_ = collective_backend::none;
  std::chrono::milliseconds timeout_{std::chrono::seconds(600)};
  std::unique_ptr<process_group_connection> connection_;
  int subgroups_created_ = 0;
};

/// Makes every process start from rank 0's model: broadcasts its parameters and buffers.
void broadcast_module_state(process_group& group, torch::nn::Module& module);

}  // namespace multigrid::reference
