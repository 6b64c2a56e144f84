#pragma once
// The one place where LibTorch versions differ. The reference builds against Debian's LibTorch 1.13
// (CPU) and against LibTorch 2.x with CUDA; everything version-specific is wrapped here, so the rest
// of the code calls one spelling.

#include <torch/torch.h>
#include <torch/version.h>

#define MULTIGRID_TORCH_VERSION (TORCH_VERSION_MAJOR * 100 + TORCH_VERSION_MINOR)

namespace multigrid::reference::compat {

/// Whether this LibTorch was built with CUDA and a device is present.
inline bool cuda_available() { return torch::cuda::is_available(); }

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

}  // namespace multigrid::reference::compat
