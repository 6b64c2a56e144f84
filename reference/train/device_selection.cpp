#include "train/device_selection.hpp"

#include "compat/torch_compat.hpp"

namespace multigrid::reference {

torch::Device select_device(device_choice choice, int local_rank) {
  const bool cuda = compat::cuda_available();
  if (choice == device_choice::cpu || (choice == device_choice::automatic && !cuda)) {
    return torch::Device(torch::kCPU);
  }
  if (!cuda) {
    throw config_error(
        "DEVICE = cuda: no CUDA device is available (a CPU-only LibTorch, or no "
        "GPU); use DEVICE auto or cpu");
  }
  const auto devices = static_cast<int>(torch::cuda::device_count());
  if (local_rank >= devices) {
    throw config_error("LOCAL_RANK = " + std::to_string(local_rank) + ": this machine has " +
                       std::to_string(devices) +
                       " CUDA devices; start at most one process per GPU");
  }
  return torch::Device(torch::kCUDA, static_cast<c10::DeviceIndex>(local_rank));
}

}  // namespace multigrid::reference
