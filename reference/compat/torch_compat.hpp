#pragma once
// The one place where LibTorch versions differ. The reference builds against Debian's LibTorch 1.13
// (CPU) and against LibTorch 2.x with CUDA; everything version-specific is wrapped here, so the
// rest of the code calls one spelling.

#include <ATen/autocast_mode.h>
#include <c10/core/Allocator.h>
#include <c10/core/CPUAllocator.h>
#include <torch/torch.h>
#include <torch/version.h>

#include <cstring>
#include <vector>

#define MULTIGRID_TORCH_VERSION (TORCH_VERSION_MAJOR * 100 + TORCH_VERSION_MINOR)

namespace multigrid::reference::compat {

/// Whether this LibTorch was built with CUDA and a device is present.
inline bool cuda_available() {
  return torch::cuda::is_available();
}

// LibTorch 2.4 replaced the CUDA-only autocast switches (set_enabled, set_autocast_gpu_dtype) by
// per-device ones and later releases deprecate the old names.
#if MULTIGRID_TORCH_VERSION >= 204
inline bool autocast_enabled(c10::DeviceType device) {
  return at::autocast::is_autocast_enabled(device);
}
inline void set_autocast_enabled(c10::DeviceType device, bool enabled) {
  at::autocast::set_autocast_enabled(device, enabled);
}
inline at::ScalarType autocast_dtype(c10::DeviceType device) {
  return at::autocast::get_autocast_dtype(device);
}
inline void set_autocast_dtype(c10::DeviceType device, at::ScalarType dtype) {
  at::autocast::set_autocast_dtype(device, dtype);
}
#else
inline bool autocast_enabled(c10::DeviceType device) {
  return device == c10::DeviceType::CPU ? at::autocast::is_cpu_enabled()
                                        : at::autocast::is_enabled();
}
inline void set_autocast_enabled(c10::DeviceType device, bool enabled) {
  if (device == c10::DeviceType::CPU) {
    at::autocast::set_cpu_enabled(enabled);
  } else {
    at::autocast::set_enabled(enabled);
  }
}
inline at::ScalarType autocast_dtype(c10::DeviceType device) {
  return device == c10::DeviceType::CPU ? at::autocast::get_autocast_cpu_dtype()
                                        : at::autocast::get_autocast_gpu_dtype();
}
inline void set_autocast_dtype(c10::DeviceType device, at::ScalarType dtype) {
  if (device == c10::DeviceType::CPU) {
    at::autocast::set_autocast_cpu_dtype(dtype);
  } else {
    at::autocast::set_autocast_gpu_dtype(dtype);
  }
}
#endif

/// Mixed precision for the scope of one forward pass (and the loss), as Python's
/// `torch.autocast(device, dtype)` does: the previous state comes back on exit, and the cast cache
/// is cleared when the outermost scope ends. The backward pass runs outside it.
class autocast_scope {
 public:
  autocast_scope(c10::DeviceType device, at::ScalarType dtype, bool enabled = true)
      : device_(device),
        previous_enabled_(autocast_enabled(device)),
        previous_dtype_(autocast_dtype(device)) {
    set_autocast_enabled(device_, enabled);
    set_autocast_dtype(device_, dtype);
    at::autocast::increment_nesting();
  }
  ~autocast_scope() {
    if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
    set_autocast_enabled(device_, previous_enabled_);
    set_autocast_dtype(device_, previous_dtype_);
  }
  autocast_scope(const autocast_scope&) = delete;
  autocast_scope& operator=(const autocast_scope&) = delete;

 private:
  c10::DeviceType device_;
  bool previous_enabled_;
  at::ScalarType previous_dtype_;
};

/// Drops the gradients instead of zeroing them (Python's zero_grad(set_to_none=True)): the next
/// backward writes them afresh, saving one memset per parameter. LibTorch 1.13's zero_grad()
/// only zeroes.
inline void zero_grad_to_none(torch::optim::Optimizer& optimizer) {
#if MULTIGRID_TORCH_VERSION >= 200
  optimizer.zero_grad(/*set_to_none=*/true);
#else
  for (auto& group : optimizer.param_groups()) {
    for (auto& parameter : group.params()) parameter.mutable_grad() = torch::Tensor();
  }
#endif
}

/// cuDNN's per-shape algorithm search (Python's torch.backends.cudnn.benchmark).
inline void set_cudnn_benchmark(bool enabled) {
  at::globalContext().setBenchmarkCuDNN(enabled);
}

}  // namespace multigrid::reference::compat

namespace multigrid::reference::compat {

/// Whether page-locked (pinned) host memory can be allocated: it needs the CUDA runtime, which a
/// CPU-only LibTorch lacks.
inline bool pinned_memory_available() {
  return torch::cuda::is_available();
}

/// An uninitialised 1-D host tensor, page-locked when `pinned` (then copies to the GPU can run
/// asynchronously with non_blocking = true).
inline torch::Tensor empty_host_tensor(std::int64_t elements, torch::ScalarType type, bool pinned) {
  return torch::empty({elements}, torch::TensorOptions().dtype(type).pinned_memory(pinned));
}

}  // namespace multigrid::reference::compat

#include <sstream>
#include <string>
#include <type_traits>
#include <utility>

namespace multigrid::reference::compat {

/// The key torch::optim::Optimizer::state() files a parameter's state under: its TensorImpl's
/// address, printed as a string up to LibTorch 1.13 and the pointer itself in 2.x.
/// (A template only so that the branch this LibTorch does not take is never compiled.)
template <class Optimizer = torch::optim::Optimizer>
auto optimizer_state_key(const torch::Tensor& parameter) {
  using state_map = std::decay_t<decltype(std::declval<Optimizer&>().state())>;
  using key_type = typename state_map::key_type;
  void* address = parameter.unsafeGetTensorImpl();
  if constexpr (std::is_same_v<key_type, std::string>) {
    std::ostringstream text;
    text << address;
    return text.str();
  } else {
    return static_cast<key_type>(address);
  }
}

}  // namespace multigrid::reference::compat

namespace multigrid::reference::compat {

/// The variable that makes NCCL collectives honour their timeout (a failed or hung peer then
/// raises an error instead of blocking): renamed with the TORCH_ prefix in LibTorch 2.2.
inline const char* nccl_blocking_wait_variable() {
#if MULTIGRID_TORCH_VERSION >= 202
  return "TORCH_NCCL_BLOCKING_WAIT";
#else
  return "NCCL_BLOCKING_WAIT";
#endif
}

/// Records the sizes of the CPU allocations made while it is installed, for tests that bound what
/// an operation allocates. LibTorch 2.x made Allocator::allocate non-const and added copy_data;
/// both spellings are defined, so each version overrides the one it declares.
class recording_cpu_allocator final : public c10::Allocator {
 public:
  // SetCPUAllocator replaces the allocator only at a priority at least the current one's.
  recording_cpu_allocator() : base_(c10::GetCPUAllocator()) {
    c10::SetCPUAllocator(this, next_priority());
  }
  ~recording_cpu_allocator() override { c10::SetCPUAllocator(base_, next_priority()); }
  recording_cpu_allocator(const recording_cpu_allocator&) = delete;
  recording_cpu_allocator& operator=(const recording_cpu_allocator&) = delete;

  c10::DataPtr allocate(std::size_t bytes) const {
    sizes_.push_back(bytes);
    return base_->allocate(bytes);
  }
  c10::DataPtr allocate(std::size_t bytes) {
    return static_cast<const recording_cpu_allocator&>(*this).allocate(bytes);
  }
  void copy_data(void* destination, const void* source, std::size_t bytes) const {
    std::memcpy(destination, source, bytes);
  }
  c10::DeleterFnPtr raw_deleter() const override { return base_->raw_deleter(); }

  /// Allocations of at least `bytes` since the last clear().
  std::size_t count_at_least(std::size_t bytes) const {
    std::size_t count = 0;
    for (const auto size : sizes_) count += size >= bytes ? 1 : 0;
    return count;
  }
  void clear() { sizes_.clear(); }

 private:
  static std::uint8_t next_priority() {
    static std::uint8_t priority = 1;
    return priority < 255 ? priority++ : priority;
  }

  c10::Allocator* base_;
  mutable std::vector<std::size_t> sizes_;
};

}  // namespace multigrid::reference::compat
