// Checkpoint write and read against LibTorch's plain torch::save / torch::load of the same
// tensors. Ours adds a checksum pass, fsync and an atomic rename on write, and a verification
// pass on read; these benchmarks show what that costs. State: a model-like list of tensors (the
// weights) and as much again (momentum), `range(0)` MB in total.

#include <benchmark/benchmark.h>
#include <unistd.h>

#include <filesystem>
#include <string>
#include <vector>

#include "train/checkpoint.hpp"

namespace {

using namespace multigrid::reference;

// Tensors of a ResNet-like spread of sizes adding up to `megabytes` / 2, twice.
struct training_state {
  std::vector<torch::Tensor> weights;
  std::vector<torch::Tensor> momentum;

  explicit training_state(std::int64_t megabytes) {
    const std::int64_t floats = (megabytes << 20) / 8;
    std::int64_t left = floats;
    for (std::int64_t size = 1 << 10; left > 0; size = size * 2 > (1 << 22) ? 1 << 10 : size * 2) {
      const auto count = std::min(size, left);
      weights.push_back(torch::randn({count}));
      momentum.push_back(torch::randn({count}));
      left -= count;
    }
  }
};

std::string scratch_file(const std::string& name) {
  return (std::filesystem::temp_directory_path() /
          ("multigrid-bench-" + std::to_string(::getpid()) + "-" + name))
      .string();
}

checkpoint_parts parts_of(training_state& state) {
  const auto save = [](const std::vector<torch::Tensor>& tensors, const char* prefix) {
    state_dict out;
    for (std::size_t i = 0; i < tensors.size(); ++i) out[prefix + std::to_string(i)] = tensors[i];
    return out;
  };
  const auto load = [](std::vector<torch::Tensor>& tensors, const char* prefix,
                       const state_dict& saved) {
    for (std::size_t i = 0; i < tensors.size(); ++i) {
      tensors[i].copy_(saved.at(prefix + std::to_string(i)));
    }
  };
  checkpoint_parts parts;
  parts.save_model = [&state, save] { return save(state.weights, "w"); };
  parts.save_optimizer = [&state, save] { return save(state.momentum, "m"); };
  parts.load_model = [&state, load](const state_dict& saved) { load(state.weights, "w", saved); };
  parts.load_optimizer = [&state, load](const state_dict& saved) {
    load(state.momentum, "m", saved);
  };
  return parts;
}

void set_bytes(benchmark::State& state) {
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) * (state.range(0) << 20));
}

void BM_checkpoint_write(benchmark::State& state) {
  training_state tensors(state.range(0));
  const auto parts = parts_of(tensors);
  const auto path = scratch_file("ours.ckpt");
  checkpoint_state contents;
  contents.rng = {capture_rng_state()};
  for (auto _ : state) write_checkpoint(path, contents, parts);
  set_bytes(state);
  std::filesystem::remove(path);
}

void BM_torch_save(benchmark::State& state) {
  training_state tensors(state.range(0));
  const auto path = scratch_file("torch.pt");
  for (auto _ : state) {
    torch::serialize::OutputArchive archive;
    for (std::size_t i = 0; i < tensors.weights.size(); ++i) {
      archive.write("w" + std::to_string(i), tensors.weights[i], true);
      archive.write("m" + std::to_string(i), tensors.momentum[i], true);
    }
    archive.save_to(path);
  }
  set_bytes(state);
  std::filesystem::remove(path);
}

void BM_checkpoint_read(benchmark::State& state) {
  training_state tensors(state.range(0));
  const auto parts = parts_of(tensors);
  const auto path = scratch_file("ours-read.ckpt");
  checkpoint_state contents;
  contents.rng = {capture_rng_state()};
  write_checkpoint(path, contents, parts);
  for (auto _ : state) {
    opened_checkpoint checkpoint(path);
    checkpoint.load(parts);
  }
  set_bytes(state);
  std::filesystem::remove(path);
}

void BM_torch_load(benchmark::State& state) {
  training_state tensors(state.range(0));
  const auto path = scratch_file("torch-read.pt");
  {
    torch::serialize::OutputArchive archive;
    for (std::size_t i = 0; i < tensors.weights.size(); ++i) {
      archive.write("w" + std::to_string(i), tensors.weights[i], true);
      archive.write("m" + std::to_string(i), tensors.momentum[i], true);
    }
    archive.save_to(path);
  }
  for (auto _ : state) {
    torch::serialize::InputArchive archive;
    archive.load_from(path);
    for (std::size_t i = 0; i < tensors.weights.size(); ++i) {
      archive.read("w" + std::to_string(i), tensors.weights[i], true);
      archive.read("m" + std::to_string(i), tensors.momentum[i], true);
    }
  }
  set_bytes(state);
  std::filesystem::remove(path);
}

BENCHMARK(BM_checkpoint_write)->Arg(64)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_torch_save)->Arg(64)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_checkpoint_read)->Arg(64)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_torch_load)->Arg(64)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace
