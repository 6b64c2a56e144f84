#pragma once
// DEVICE auto/cpu/cuda and LOCAL_RANK to a torch::Device: on CUDA each process of a machine
// drives the GPU numbered by its local rank.

#include <torch/torch.h>

#include "train/train_config.hpp"

namespace multigrid::reference {

/// Throws config_error naming DEVICE when CUDA is asked for and absent, or LOCAL_RANK when the
/// machine has fewer GPUs than processes.
torch::Device select_device(device_choice choice, int local_rank);

}  // namespace multigrid::reference
