#include "train/process_group.hpp"

#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
// A LibTorch built with Gloo or NCCL says so (USE_C10D_*), but its package may still lack the
// backend's own headers (PyTorch's wheels ship no Gloo headers, and NCCL's come in a separate
// package): a backend is compiled in only when both are present.
#if defined(USE_C10D_GLOO) && __has_include(<gloo/rendezvous/store.h>)
#define MULTIGRID_WITH_GLOO 1
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#else
#define MULTIGRID_WITH_GLOO 0
#endif
#if defined(USE_C10D_NCCL) && __has_include(<nccl.h>)
#define MULTIGRID_WITH_NCCL 1
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#else
#define MULTIGRID_WITH_NCCL 0
#endif

#include <cstdio>
#include <cstdlib>
#include <functional>
#include <map>
#include <tuple>

#include "compat/torch_compat.hpp"
#include "train/error_text.hpp"

namespace multigrid::reference {
namespace {

using clock = std::chrono::steady_clock;
using work_pointer = c10::intrusive_ptr<c10d::Work>;

std::string seconds_text(double seconds) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.1f s", seconds);
  return buffer;
}

std::string backend_name(collective_backend backend) {
  switch (backend) {
    case collective_backend::none:
      return "single process";
    case collective_backend::gloo:
      return "gloo";
    case collective_backend::nccl:
      return "nccl";
  }
  return "?";
}

bool is_loopback(const std::string& address) {
  return address.rfind("127.", 0) == 0 || address == "localhost" || address == "::1";
}

// Calls `fn(flat)` on one flat copy of the tensors of each dtype and device, then copies back.
void for_each_coalesced(std::vector<torch::Tensor>& tensors,
                        const std::function<void(torch::Tensor&)>& fn) {
  std::map<std::tuple<int, int, int>, std::vector<std::size_t>> groups;
  for (std::size_t i = 0; i < tensors.size(); ++i) {
    const auto& tensor = tensors[i];
    if (!tensor.defined() || tensor.numel() == 0) continue;
    groups[{static_cast<int>(tensor.scalar_type()), static_cast<int>(tensor.device().type()),
            tensor.device().index()}]
        .push_back(i);
  }
  torch::NoGradGuard no_grad;
  for (const auto& [key, indices] : groups) {
    std::vector<torch::Tensor> pieces;
    for (auto i : indices) pieces.push_back(tensors[i].reshape(-1));
    auto flat = torch::cat(pieces);
    fn(flat);
    std::int64_t offset = 0;
    for (auto i : indices) {
      auto& tensor = tensors[i];
      tensor.copy_(flat.narrow(0, offset, tensor.numel()).view(tensor.sizes()));
      offset += tensor.numel();
    }
  }
}

}  // namespace

// The c10d objects, behind calls that do not name their classes: Gloo and NCCL groups derive
// from different bases across LibTorch versions, but their collectives are spelt alike.
struct process_group_connection {
  c10::intrusive_ptr<c10d::Store> store;
  std::function<work_pointer(std::vector<at::Tensor>&, c10d::ReduceOp)> all_reduce;
  std::function<work_pointer(std::vector<at::Tensor>&, int)> broadcast;
  std::function<work_pointer()> barrier;
};

namespace {

template <class Backend>
void bind_backend(process_group_connection& connection, c10::intrusive_ptr<Backend> backend,
                  std::chrono::milliseconds timeout) {
  connection.all_reduce = [backend, timeout](std::vector<at::Tensor>& tensors, c10d::ReduceOp op) {
    c10d::AllreduceOptions options;
    options.reduceOp = op;
    options.timeout = timeout;
    return work_pointer(backend->allreduce(tensors, options));
  };
  connection.broadcast = [backend, timeout](std::vector<at::Tensor>& tensors, int root) {
    c10d::BroadcastOptions options;
    options.rootRank = root;
    options.timeout = timeout;
    return work_pointer(backend->broadcast(tensors, options));
  };
  connection.barrier = [backend, timeout]() {
    c10d::BarrierOptions options;
    options.timeout = timeout;
    return work_pointer(backend->barrier(options));
  };
}

void connect_backend(process_group_connection& connection, collective_backend backend, int rank,
                     int size, const std::string& address, std::chrono::milliseconds timeout) {
  if (backend == collective_backend::gloo) {
#if MULTIGRID_WITH_GLOO
    auto options = c10d::ProcessGroupGloo::Options::create(timeout);
    if (is_loopback(address)) {
      options->devices.push_back(c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1"));
    } else if (const char* interface = std::getenv("GLOO_SOCKET_IFNAME")) {
      options->devices.push_back(c10d::ProcessGroupGloo::createDeviceForInterface(interface));
    } else {
      options->devices.push_back(c10d::ProcessGroupGloo::createDefaultDevice());
    }
    bind_backend(connection,
                 c10::make_intrusive<c10d::ProcessGroupGloo>(connection.store, rank, size, options),
                 timeout);
#else
    (void)rank, (void)size, (void)address, (void)timeout;
    throw distributed_error(
        "this LibTorch was built without Gloo: multi-process CPU training is "
        "not available");
#endif
  } else {
#if MULTIGRID_WITH_NCCL
    // Without blocking wait a dead peer leaves NCCL kernels spinning: no error, no timeout.
    ::setenv(compat::nccl_blocking_wait_variable(), "1", /*overwrite=*/0);
    auto options = c10d::ProcessGroupNCCL::Options::create();
    options->timeout = timeout;
    bind_backend(connection,
                 c10::make_intrusive<c10d::ProcessGroupNCCL>(connection.store, rank, size, options),
                 timeout);
#else
    (void)rank, (void)size, (void)address, (void)timeout;
    throw distributed_error("this LibTorch was built without NCCL: set DIST_BACKEND gloo");
#endif
  }
}

}  // namespace

struct pending_collective::state {
  work_pointer work;
  torch::Tensor tensor;  // kept alive until the collective is done
  std::string what;
  std::string who;
  std::chrono::milliseconds timeout;
  clock::time_point started;
};

void pending_collective::wait() {
  if (!state_) return;
  const auto current = std::move(state_);
  try {
    current->work->wait(current->timeout);
  } catch (const std::exception& error) {
    const double elapsed = std::chrono::duration<double>(clock::now() - current->started).count();
    throw distributed_error(
        current->who + ": " + current->what + " failed after " + seconds_text(elapsed) +
        " (timeout " + seconds_text(std::chrono::duration<double>(current->timeout).count()) +
        ", DIST_TIMEOUT_SECONDS); a peer process has probably died or stopped responding: " +
        error_text(error));
  }
}

bool nccl_available() noexcept {
#if MULTIGRID_WITH_NCCL
  return true;
#else
  return false;
#endif
}

process_group_options process_group_options_for(const train_config& cfg,
                                                const torch::Device& device) {
  process_group_options options;
  options.timeout =
      std::chrono::milliseconds(static_cast<std::int64_t>(cfg.distributed_timeout_seconds * 1000));
  options.backend = device.is_cuda() && cfg.backend == distributed_backend::nccl && nccl_available()
                        ? collective_backend::nccl
                        : collective_backend::gloo;
  return options;
}

std::shared_ptr<process_group> process_group::join(const distributed_environment& environment,
                                                   const process_group_options& options) {
  std::shared_ptr<process_group> group(new process_group());
  group->rank_ = environment.rank;
  group->size_ = environment.world_size;
  group->first_global_rank_ = 0;
  group->timeout_ = options.timeout;
  group->master_address_ = environment.master_address;
  if (environment.world_size == 1) return group;
  group->backend_ =
      options.backend == collective_backend::none ? collective_backend::gloo : options.backend;
  group->connection_ = std::make_unique<process_group_connection>();
  const auto endpoint = environment.master_address + ":" + std::to_string(environment.master_port);
  try {
    c10d::TCPStoreOptions store_options;
    store_options.port = environment.master_port;
    store_options.isServer = environment.rank == 0;
    store_options.numWorkers = static_cast<std::size_t>(environment.world_size);
    store_options.waitWorkers = true;
    store_options.timeout = options.timeout;
    group->connection_->store =
        c10::make_intrusive<c10d::TCPStore>(environment.master_address, store_options);
  } catch (const std::exception& error) {
    throw distributed_error(group->description() + ": rendezvous at " + endpoint +
                            " (MASTER_ADDR:MASTER_PORT) failed: " + error_text(error));
  }
  try {
    connect_backend(*group->connection_, group->backend_, group->rank_, group->size_,
                    environment.master_address, options.timeout);
  } catch (const distributed_error&) {
    throw;
  } catch (const std::exception& error) {
    throw distributed_error(group->description() + ": connecting the " +
                            backend_name(group->backend_) +
                            " process group failed: " + error_text(error));
  }
  return group;
}

process_group::~process_group() = default;

std::string process_group::description() const {
  const int job_rank = first_global_rank_ + rank_;
  if (is_subgroup_) {
    return "rank " + std::to_string(job_rank) + " (subgroup of ranks " +
           std::to_string(first_global_rank_) + "-" +
           std::to_string(first_global_rank_ + size_ - 1) + ", " + backend_name(backend_) + ")";
  }
  return "rank " + std::to_string(job_rank) + " of " + std::to_string(size_) + " (" +
         backend_name(backend_) + ")";
}

pending_collective process_group::start(operation kind, torch::Tensor tensor, int root,
                                        std::string what) {
  pending_collective pending;
  if (size_ == 1) return pending;
  auto state = std::make_shared<pending_collective::state>();
  state->what = std::move(what);
  state->who = description();
  state->timeout = timeout_;
  state->started = clock::now();
  state->tensor = tensor;
  try {
    std::vector<at::Tensor> tensors{tensor};
    switch (kind) {
      case operation::sum:
        state->work = connection_->all_reduce(tensors, c10d::ReduceOp::SUM);
        break;
      case operation::max:
        state->work = connection_->all_reduce(tensors, c10d::ReduceOp::MAX);
        break;
      case operation::broadcast:
        state->work = connection_->broadcast(tensors, root);
        break;
      case operation::barrier:
        state->work = connection_->barrier();
        break;
    }
  } catch (const std::exception& error) {
    throw distributed_error(state->who + ": " + state->what +
                            " could not start: " + error_text(error));
  }
  pending.state_ = std::move(state);
  return pending;
}

void process_group::all_reduce_sum(torch::Tensor& tensor, const std::string& what) {
  start(operation::sum, tensor, 0, what).wait();
}

void process_group::all_reduce_sum(std::vector<torch::Tensor>& tensors, const std::string& what) {
  if (size_ == 1) return;
  for_each_coalesced(tensors, [&](torch::Tensor& flat) { all_reduce_sum(flat, what); });
}

void process_group::all_reduce_max(torch::Tensor& tensor, const std::string& what) {
  start(operation::max, tensor, 0, what).wait();
}

pending_collective process_group::all_reduce_sum_async(torch::Tensor tensor, std::string what) {
  return start(operation::sum, std::move(tensor), 0, std::move(what));
}

void process_group::broadcast(torch::Tensor& tensor, int root, const std::string& what) {
  start(operation::broadcast, tensor, root, what).wait();
}

void process_group::barrier(const std::string& what) {
  start(operation::barrier, torch::Tensor(), 0, what).wait();
}

std::vector<std::string> process_group::all_gather_bytes(const std::string& mine,
                                                         const std::string& what) {
  if (size_ == 1) return {mine};
  // A gather as two sums: the lengths, then a table with one row per rank, zero but for the
  // row this process fills. Bytes travel in int32 cells: Gloo sums every integer type of that
  // width, and the table is small (random states, a few KB per process).
  auto lengths = torch::zeros({size_}, torch::kInt64);
  lengths[rank_] = static_cast<std::int64_t>(mine.size());
  all_reduce_sum(lengths, what + " (lengths)");
  const auto longest = lengths.max().item<std::int64_t>();
  auto table = torch::zeros({size_, std::max<std::int64_t>(longest, 1)}, torch::kInt32);
  {
    auto cells = table.accessor<int, 2>();
    for (std::size_t i = 0; i < mine.size(); ++i) {
      cells[rank_][static_cast<std::int64_t>(i)] = static_cast<unsigned char>(mine[i]);
    }
  }
  all_reduce_sum(table, what);
  std::vector<std::string> gathered;
  const auto cells = table.accessor<int, 2>();
  for (int rank = 0; rank < size_; ++rank) {
    std::string bytes(static_cast<std::size_t>(lengths[rank].item<std::int64_t>()), '\0');
    for (std::size_t i = 0; i < bytes.size(); ++i) {
      bytes[i] = static_cast<char>(cells[rank][static_cast<std::int64_t>(i)]);
    }
    gathered.push_back(std::move(bytes));
  }
  return gathered;
}

std::shared_ptr<process_group> process_group::subgroup(int first_rank, int count) {
  if (first_rank < 0 || count < 1 || first_rank + count > size_ || rank_ < first_rank ||
      rank_ >= first_rank + count) {
    throw std::invalid_argument(
        description() + ": cannot form a subgroup of ranks [" + std::to_string(first_rank) + ", " +
        std::to_string(first_rank + count) + ") that does not hold this rank");
  }
  std::shared_ptr<process_group> group(new process_group());
  group->rank_ = rank_ - first_rank;
  group->size_ = count;
  group->first_global_rank_ = first_global_rank_ + first_rank;
  group->timeout_ = timeout_;
  group->is_subgroup_ = true;
  group->master_address_ = master_address_;
  // Members count their subgroup calls alike, so the store prefix tells each creation apart.
  const int sequence = subgroups_created_++;
  if (count == 1) return group;
  group->backend_ = backend_;
  group->connection_ = std::make_unique<process_group_connection>();
  const std::string prefix = "multigrid/subgroup/" + std::to_string(sequence) + "/" +
                             std::to_string(first_rank) + "+" + std::to_string(count);
  group->connection_->store = c10::make_intrusive<c10d::PrefixStore>(prefix, connection_->store);
  try {
    connect_backend(*group->connection_, backend_, group->rank_, count, master_address_, timeout_);
  } catch (const std::exception& error) {
    throw distributed_error(description() + ": connecting the subgroup of ranks [" +
                            std::to_string(first_rank) + ", " + std::to_string(first_rank + count) +
                            ") failed: " + error_text(error));
  }
  return group;
}

void broadcast_module_state(process_group& group, torch::nn::Module& module) {
  if (group.size() == 1) return;
  std::vector<torch::Tensor> tensors;
  for (const auto& parameter : module.parameters()) tensors.push_back(parameter);
  for (const auto& buffer : module.buffers()) {
    if (buffer.defined()) tensors.push_back(buffer);
  }
  for_each_coalesced(tensors, [&](torch::Tensor& flat) {
    group.broadcast(flat, 0, "broadcast of the model's parameters and buffers from rank 0");
  });
}

}  // namespace multigrid::reference
