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
