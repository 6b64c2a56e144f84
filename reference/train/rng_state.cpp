#include "train/rng_state.hpp"

#include <cstdlib>

#include "compat/torch_compat.hpp"

namespace multigrid::reference {
namespace {

int cuda_device_count() {
  return compat::cuda_available() ? static_cast<int>(torch::cuda::device_count()) : 0;
}

at::Generator cuda_generator(int device) {
  return at::globalContext().defaultGenerator(
      torch::Device(torch::kCUDA, static_cast<c10::DeviceIndex>(device)));
}

}  // namespace

rng_state capture_rng_state() {
  rng_state state;
  auto cpu = at::globalContext().defaultGenerator(torch::kCPU);
  {
    std::lock_guard<std::mutex> lock(cpu.mutex());
    state.cpu = cpu.get_state();
  }
  for (int device = 0; device < cuda_device_count(); ++device) {
    auto generator = cuda_generator(device);
    std::lock_guard<std::mutex> lock(generator.mutex());
    state.cuda.push_back(generator.get_state());
  }
  return state;
}

std::string restore_rng_state(const rng_state& state) {
  if (state.cpu.defined()) {
    auto cpu = at::globalContext().defaultGenerator(torch::kCPU);
    std::lock_guard<std::mutex> lock(cpu.mutex());
    cpu.set_state(state.cpu);
  }
  const int devices = cuda_device_count();
  if (state.cuda.empty()) return {};
  if (static_cast<int>(state.cuda.size()) != devices) {
    return "the checkpoint holds the generator states of " + std::to_string(state.cuda.size()) +
           " CUDA devices and " + std::to_string(devices) +
           " are visible: CUDA random numbers will not continue the saved sequence";
  }
  for (int device = 0; device < devices; ++device) {
    auto generator = cuda_generator(device);
    std::lock_guard<std::mutex> lock(generator.mutex());
    generator.set_state(state.cuda[static_cast<std::size_t>(device)]);
  }
  return {};
}

void seed_torch(int rng_seed, int rank) {
  torch::manual_seed(static_cast<std::uint64_t>(rng_seed) + static_cast<std::uint64_t>(rank));
}

void use_deterministic_algorithms(bool enabled) {
  if (enabled) {
    // cuBLAS needs a fixed workspace for deterministic results; it reads this when it starts.
    ::setenv("CUBLAS_WORKSPACE_CONFIG", ":4096:8", /*overwrite=*/0);
  }
  at::globalContext().setDeterministicAlgorithms(enabled, /*warn_only=*/false);
  at::globalContext().setDeterministicCuDNN(enabled);
  at::globalContext().setBenchmarkCuDNN(!enabled);
}

}  // namespace multigrid::reference
