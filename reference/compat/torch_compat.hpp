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

namespace multigrid::reference::compat {

/// Whether page-locked (pinned) host memory can be allocated: it needs the CUDA runtime, which a
/// CPU-only LibTorch lacks.
inline bool pinned_memory_available() { return torch::cuda::is_available(); }

/// An uninitialised 1-D host tensor, page-locked when `pinned` (then copies to the GPU can run
/// asynchronously with non_blocking = true).
inline torch::Tensor empty_host_tensor(std::int64_t elements, torch::ScalarType type, bool pinned) {
  return torch::empty({elements}, torch::TensorOptions().dtype(type).pinned_memory(pinned));
}

}  // namespace multigrid::reference::compat
