// One norm layer's forward and backward at a coarse stage's activation: plain BN (LibTorch's
// kernel, the cost sub-batch BN is held to) against sub-batch BN's three computations
// (split_batch_norm.hpp) at each split count. On CUDA the activations are bf16 with float
// parameters, as under the trainer's autocast; on the CPU float.
//
// Environment:
//   MULTIGRID_BENCH_ACTIVATION  NxCxTxHxW (default CUDA 128x256x2x28x28, the slow pathway's res2
//                               output at the Kinetics schedule's 128x8x112 shape; CPU
//                               16x64x4x28x28)
//   MULTIGRID_BENCH_SPLITS      split counts, e.g. 2,4,8,16 (default 2,4,8,16; each must divide N)
//   MULTIGRID_BENCH_LAYOUT      channels_last | contiguous (default: the trainer's, channels-last
//                               on CUDA, contiguous on the CPU)
//   MULTIGRID_BENCH_STEPS       timed forward and backward passes (default CUDA 50, CPU 5)
//   MULTIGRID_BENCH_REPETITIONS repetitions of those, reported as their median (default CUDA 1,
//                               CPU 3: the CPU's times vary more)

#include <benchmark/benchmark.h>
#include <torch/torch.h>

#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "common/bench_environment.hpp"
#include "compat/torch_compat.hpp"
#include "model/split_batch_norm.hpp"

namespace {

using namespace multigrid::reference;
using multigrid::bench::environment;
using multigrid::bench::environment_int;

std::vector<std::int64_t> integers(const std::string& text, char separator, const char* variable) {
  std::vector<std::int64_t> values;
  std::stringstream list(text);
  std::string item;
  while (std::getline(list, item, separator)) {
    try {
      std::size_t used = 0;
      const auto value = std::stoll(item, &used);
      if (used == item.size() && value > 0) {
        values.push_back(value);
        continue;
      }
    } catch (const std::exception&) {
    }
    throw std::invalid_argument(std::string(variable) + ": `" + item +
                                "` is not a positive integer");
  }
  return values;
}

struct settings {
  torch::Device device{torch::kCPU};
  std::vector<std::int64_t> activation;
  std::vector<std::int64_t> splits;
  at::MemoryFormat format = at::MemoryFormat::Contiguous;
  int steps = 5;
  int repetitions = 1;
};

const settings& bench_settings() {
  static const settings s = [] {
    settings result;
    const bool cuda = compat::cuda_available();
    result.device = cuda ? torch::Device(torch::kCUDA) : torch::Device(torch::kCPU);
    result.activation = integers(
        environment("MULTIGRID_BENCH_ACTIVATION", cuda ? "128x256x2x28x28" : "16x64x4x28x28"), 'x',
        "MULTIGRID_BENCH_ACTIVATION");
    if (result.activation.size() != 5) {
      throw std::invalid_argument("MULTIGRID_BENCH_ACTIVATION: expected NxCxTxHxW");
    }
    result.splits =
        integers(environment("MULTIGRID_BENCH_SPLITS", "2,4,8,16"), ',', "MULTIGRID_BENCH_SPLITS");
    for (const auto k : result.splits) {
      if (result.activation[0] % k != 0) {
        throw std::invalid_argument("MULTIGRID_BENCH_SPLITS: " + std::to_string(k) +
                                    " does not divide the batch of " +
                                    std::to_string(result.activation[0]));
      }
    }
    const auto layout =
        environment("MULTIGRID_BENCH_LAYOUT", cuda ? "channels_last" : "contiguous");
    if (layout != "channels_last" && layout != "contiguous") {
      throw std::invalid_argument("MULTIGRID_BENCH_LAYOUT=" + layout +
                                  ": use channels_last or contiguous");
    }
    result.format =
        layout == "channels_last" ? at::MemoryFormat::ChannelsLast3d : at::MemoryFormat::Contiguous;
    result.steps = std::max(1, environment_int("MULTIGRID_BENCH_STEPS", cuda ? 50 : 5));
    result.repetitions = std::max(1, environment_int("MULTIGRID_BENCH_REPETITIONS", cuda ? 1 : 3));
    return result;
  }();
  return s;
}

// One layer's forward and backward; `method` empty is plain BN.
void layer_pass(benchmark::State& state, std::optional<split_batch_norm_method> method,
                std::int64_t splits) {
  const auto& s = bench_settings();
  const bool cuda = s.device.is_cuda();
  const auto activation_type = cuda ? torch::kBFloat16 : torch::kFloat;
  const auto channels = s.activation[1];
  torch::manual_seed(0);
  const auto input = torch::randn(s.activation, torch::TensorOptions().device(s.device))
                         .to(activation_type)
                         .contiguous(s.format)
                         .requires_grad_();
  const auto grad_output = torch::randn_like(input);
  const auto parameters = torch::TensorOptions().device(s.device);
  const auto weight = torch::ones({channels}, parameters).requires_grad_();
  const auto bias = torch::zeros({channels}, parameters).requires_grad_();
  auto running_mean = torch::zeros({splits * channels}, parameters);
  auto running_var = torch::ones({splits * channels}, parameters);
  if (method) choose_split_batch_norm_method(*method);

  const auto pass = [&] {
    const auto output =
        method ? split_batch_norm(input, weight, bias, running_mean, running_var,
                                  static_cast<int>(splits), 0.1, 1e-5)
               : torch::batch_norm(input, weight, bias, running_mean, running_var, true, 0.1, 1e-5,
                                   at::globalContext().userEnabledCuDNN());
    torch::autograd::grad({output}, {input, weight, bias}, {grad_output});
    if (cuda) torch::cuda::synchronize();
  };
  // A computation that fails (a kernel that does not run on this GPU) skips its row, so that the
  // others are still reported.
  try {
    for (int i = 0; i < 3; ++i) pass();  // allocator and kernel warm-up
    for (auto _ : state) pass();
  } catch (const std::exception& error) {
    state.SkipWithError(error.what());
  }
  choose_split_batch_norm_method(std::nullopt);
  state.counters["GB_per_s_of_activation"] =
      benchmark::Counter(static_cast<double>(input.numel() * input.element_size()) / 1e9,
                         benchmark::Counter::kIsIterationInvariantRate);
  state.SetLabel(std::string(cuda ? "cuda bf16" : "cpu float") +
                 (s.format == at::MemoryFormat::ChannelsLast3d ? " channels-last" : " contiguous"));
}

bool register_passes() {
  const auto& s = bench_settings();
  std::string shape;
  for (const auto size : s.activation) shape += (shape.empty() ? "" : "x") + std::to_string(size);
  const auto add = [&](const std::string& name, std::optional<split_batch_norm_method> method,
                       std::int64_t splits) {
    benchmark::RegisterBenchmark(("batch_norm_pass/" + shape + "/" + name).c_str(), layer_pass,
                                 method, splits)
        ->Unit(benchmark::kMillisecond)
        ->UseRealTime()
        ->Iterations(s.steps)
        ->Repetitions(s.repetitions)
        ->ReportAggregatesOnly(s.repetitions > 1);
  };
  add("plain", std::nullopt, 1);
  for (const auto k : s.splits) {
    for (const auto* name : {"in_place", "regrouped", "batched"}) {
      add(std::string(name) + "/" + std::to_string(k), split_batch_norm_method_named(name), k);
    }
  }
  return true;
}

const bool registered = register_passes();

}  // namespace
