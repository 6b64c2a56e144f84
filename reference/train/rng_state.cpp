#include "train/rng_state.hpp"

#include <cstdlib>
#include <cstring>
#include <stdexcept>

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

// Little-endian length-prefixed fields: [cpu][cuda count][cuda...][loader seed][loader state].
void put_u64(std::string& out, std::uint64_t value) {
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>(value >> (8 * i)));
}

void put_bytes(std::string& out, const torch::Tensor& tensor) {
  if (!tensor.defined()) {
    put_u64(out, 0);
    return;
  }
  const auto bytes = tensor.to(torch::kCPU).contiguous();
  const auto size = static_cast<std::size_t>(bytes.numel()) * bytes.element_size();
  put_u64(out, size);
  out.append(static_cast<const char*>(bytes.data_ptr()), size);
}

class byte_reader {
 public:
  explicit byte_reader(const std::string& bytes) : bytes_(bytes) {}
  std::uint64_t u64() {
    need(8);
    std::uint64_t value = 0;
    for (int i = 0; i < 8; ++i)
      value |= std::uint64_t{static_cast<unsigned char>(bytes_[at_++])} << (8 * i);
    return value;
  }
  std::string text() {
    const auto size = u64();
    need(size);
    auto value = bytes_.substr(at_, size);
    at_ += size;
    return value;
  }
  torch::Tensor tensor() {
    const auto value = text();
    if (value.empty()) return {};
    auto tensor = torch::empty({static_cast<std::int64_t>(value.size())}, torch::kUInt8);
    std::memcpy(tensor.data_ptr(), value.data(), value.size());
    return tensor;
  }
  bool done() const noexcept { return at_ == bytes_.size(); }

 private:
  void need(std::uint64_t size) const {
    if (size > bytes_.size() - at_) throw std::runtime_error("random state: truncated bytes");
  }
  const std::string& bytes_;
  std::size_t at_ = 0;
};

}  // namespace

std::string rng_state_to_bytes(const rng_state& state) {
  std::string out;
  put_bytes(out, state.cpu);
  put_u64(out, state.cuda.size());
  for (const auto& generator : state.cuda) put_bytes(out, generator);
  put_u64(out, state.loader_seed);
  put_u64(out, state.loader_state.size());
  out += state.loader_state;
  return out;
}

rng_state rng_state_from_bytes(const std::string& bytes) {
  byte_reader reader(bytes);
  rng_state state;
  state.cpu = reader.tensor();
  const auto devices = reader.u64();
  if (devices > 1024) throw std::runtime_error("random state: implausible CUDA device count");
  for (std::uint64_t i = 0; i < devices; ++i) state.cuda.push_back(reader.tensor());
  state.loader_seed = reader.u64();
  state.loader_state = reader.text();
  if (!reader.done()) throw std::runtime_error("random state: trailing bytes");
  return state;
}

std::vector<rng_state> gather_rng_states(process_group& group, const rng_state& local) {
  std::vector<rng_state> states;
  for (const auto& bytes :
       group.all_gather_bytes(rng_state_to_bytes(local), "gathering random states")) {
    states.push_back(rng_state_from_bytes(bytes));
  }
  return states;
}

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
