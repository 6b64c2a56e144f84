// The trainer's training step as it runs on CUDA with TRAIN.CUDA_GRAPHS: uint8 clips from pinned
// host memory, normalisation on the device, bf16 autocast, channels-last-3d, SlowFast-R50 forward
// and backward, the recipe's SGD (Nesterov momentum, no weight decay on BN), one CUDA graph per
// shape, sub-batch BN as the schedule sets it, and the loss read back every step as the trainer
// does. The counterpart of slowfast_eager.py and of model_benchmarks (the same step, eager): the
// gap between them is what capture buys. Without CUDA the step runs eagerly on the CPU.
//
// Environment: MULTIGRID_BENCH_SHAPES (BATCHxFRAMESxCROP,...; default on CUDA the Kinetics
// schedule's per-GPU shapes, on CPU 1x8x64), MULTIGRID_BENCH_WIDTH (RESNET.WIDTH_PER_GROUP,
// default 64 on CUDA, 8 on CPU), MULTIGRID_BENCH_WARMUP (eager steps before capture, default 3),
// MULTIGRID_BENCH_STEPS (timed steps per shape, default CUDA 20, CPU 2), MULTIGRID_BENCH_SUB_BN
// (sub-batch BN's computation: in_place, regrouped or batched; default the device's).

#include <benchmark/benchmark.h>
#include <torch/torch.h>

#include <memory>
#include <multigrid/batch_norm_mode.hpp>
#include <string>

#include "common/bench_environment.hpp"
#include "common/sub_batch_norm_choice.hpp"
#include "compat/torch_compat.hpp"
#include "model/memory_format.hpp"
#include "model/slowfast.hpp"
#include "train/graphed_training_step.hpp"
#include "train/optimizer.hpp"

namespace {

using namespace multigrid::reference;
using multigrid::bench::clip_batch_shape;
using multigrid::bench::environment;
using multigrid::bench::environment_int;

struct settings {
  torch::Device device{torch::kCPU};
  std::vector<clip_batch_shape> shapes;
  int width = 64;
  int warmup = 3;
  int steps = 20;
  std::string sub_batch_norm;
};

const settings& bench_settings() {
  static const settings s = [] {
    settings result;
    const bool cuda = compat::cuda_available();
    result.device = cuda ? torch::Device(torch::kCUDA) : torch::Device(torch::kCPU);
    result.shapes = multigrid::bench::parse_shapes(
        environment("MULTIGRID_BENCH_SHAPES",
                    cuda ? multigrid::bench::kinetics_gpu_shapes : "1x8x64"),
        "MULTIGRID_BENCH_SHAPES");
    result.width = environment_int("MULTIGRID_BENCH_WIDTH", cuda ? 64 : 8);
    result.warmup = environment_int("MULTIGRID_BENCH_WARMUP", 3);
    result.steps = std::max(1, environment_int("MULTIGRID_BENCH_STEPS", cuda ? 20 : 2));
    result.sub_batch_norm = multigrid::bench::choose_sub_batch_norm_from_environment(result.device);
    return result;
  }();
  return s;
}

// One model, optimizer and graphed step for all shapes, as one training run has.
struct training_state {
  explicit training_state(const settings& s)
      : model(make_model(s)),
        optimizer(split_batch_norm_parameters(*model), sgd_settings{}),
        step(
            model, optimizer, s.device, {0.45f, 0.45f, 0.45f}, {0.225f, 0.225f, 0.225f},
            [](const std::string& line) { std::fprintf(stderr, "%s\n", line.c_str()); }, s.warmup) {
  }
  static SlowFast make_model(const settings& s) {
    slowfast_options options;
    options.width_per_group = s.width;
    SlowFast model(options);
    model->to(s.device);
    if (s.device.is_cuda()) {
      use_channels_last_3d(*model);
      compat::set_cudnn_benchmark(true);
    }
    model->train();
    return model;
  }
  SlowFast model;
  training_optimizer optimizer;
  graphed_training_step step;
};

training_state& state_for_run() {
  static training_state state(bench_settings());
  return state;
}

void graphed_step(benchmark::State& state, clip_batch_shape shape) {
  const auto& s = bench_settings();
  auto& training = state_for_run();
  // The stage's BN rule, as the trainer applies it; new split counts mean new graphs.
  training.model->set_batch_norm_mode(multigrid::choose_batch_norm(shape.batch, 8, 1));
  training.step.reset();
  torch::manual_seed(0);
  const bool pinned = s.device.is_cuda() && compat::pinned_memory_available();
  const auto clips =
      torch::randint(0, 256, {shape.batch, 3, shape.frames, shape.crop, shape.crop},
                     torch::TensorOptions().dtype(torch::kUInt8).pinned_memory(pinned));
  const auto labels =
      torch::randint(0, training.model->options().num_classes, {shape.batch},
                     torch::TensorOptions().dtype(torch::kLong).pinned_memory(pinned));
  // A shape whose step fails (a kernel that does not run on this GPU) skips its row, so that the
  // rows before it still reach the JSON file.
  try {
    // Eager warm-up steps, the capture, and one replay.
    for (int i = 0; i <= s.warmup + 1; ++i) training.step.run(clips, labels, 0.01).item<float>();
    for (auto _ : state) training.step.run(clips, labels, 0.01).item<float>();
  } catch (const std::exception& error) {
    state.SkipWithError(error.what());
    return;
  }
  state.counters["clips_per_s"] = benchmark::Counter(static_cast<double>(shape.batch),
                                                     benchmark::Counter::kIsIterationInvariantRate);
  state.counters["graphs"] = training.step.graphs();
  state.SetLabel(
      std::string(training.step.capturing() ? "cuda graph, bf16, channels-last" : "eager") +
      ", sub-batch BN " + s.sub_batch_norm);
}

bool register_steps() {
  for (const auto& shape : bench_settings().shapes) {
    const std::string name = "graphed_training_step/" + multigrid::bench::shape_name(shape);
    benchmark::RegisterBenchmark(name.c_str(), graphed_step, shape)
        ->Unit(benchmark::kMillisecond)
        ->UseRealTime()
        ->Iterations(bench_settings().steps);
  }
  return true;
}

const bool registered = register_steps();

}  // namespace
