#pragma once
// A module's tensors by their dotted names, as PyTorch's `state_dict()` holds them: what a
// checkpoint stores for the model and the optimizer, and what weights files exchange.

#include <torch/torch.h>

#include <map>
#include <string>

namespace multigrid::reference {

using state_dict = std::map<std::string, torch::Tensor>;

}  // namespace multigrid::reference
