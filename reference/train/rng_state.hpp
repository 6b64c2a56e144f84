#pragma once
// The random state a resumed run needs to continue exactly where it stopped: LibTorch's CPU
// generator (dropout, initialisation, anything drawn with torch::rand*), each CUDA device's
// generator, and the loader's own state (its seed and whatever it keeps, opaque here). Every
// process has its own; rank 0 gathers them all into the checkpoint.

#include <torch/torch.h>

#include <cstdint>
#include <string>
#include <vector>

#include "train/process_group.hpp"

namespace multigrid::reference {

struct rng_state {
  torch::Tensor cpu;                ///< torch CPU generator state (uint8)
  std::vector<torch::Tensor> cuda;  ///< one per visible CUDA device; empty on a CPU build
  std::uint64_t loader_seed = 0;
  std::string loader_state;  ///< the loader's serialised sampler/augmentation state
};

/// Captures the torch generators; the loader's fields are left for the caller to fill.
rng_state capture_rng_state();
/// Restores the torch generators (CUDA ones only when the same number of devices is visible;
/// otherwise they keep their seeds and a warning is returned). Empty text: all restored.
std::string restore_rng_state(const rng_state& state);

/// The state as bytes and back (what gather_rng_states exchanges and a checkpoint stores).
std::string rng_state_to_bytes(const rng_state& state);
/// Throws std::runtime_error when `bytes` is not what rng_state_to_bytes wrote.
rng_state rng_state_from_bytes(const std::string& bytes);

/// Every process's state, by rank, on every process (a collective: all must call it).
std::vector<rng_state> gather_rng_states(process_group& group, const rng_state& local);

/// Seeds torch's generators for process `rank`: RNG_SEED + rank, as PySlowFast does per process.
void seed_torch(int rng_seed, int rank);

/// TRAIN.DETERMINISTIC: deterministic kernels (cuDNN and others), no cuDNN autotuning.
void use_deterministic_algorithms(bool enabled);

}  // namespace multigrid::reference
