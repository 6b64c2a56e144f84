// One SlowFast training step (forward, cross-entropy, backward, SGD) per clip shape: the work a
// multigrid stage repeats. The counterpart of the eager-PyTorch baseline slowfast_eager.py:
// the same network, optimizer (SGD, momentum 0.9, weight decay 1e-4 on every parameter) and
// timing (warm-up steps, then the median of single timed steps), so clips/s compare as a ratio.
//
// Environment (read once at start-up):
//   MULTIGRID_BENCH_DEVICE   cpu | cuda            (default: cuda when available, else cpu)
//   MULTIGRID_BENCH_SHAPES   BATCHxFRAMESxCROP,...  (default: CPU 1x8x112; CUDA PySlowFast's
//                            per-GPU shapes of the Kinetics schedule, long and short cycle)
//   MULTIGRID_BENCH_THREADS  CPU threads (at::set_num_threads; default: LibTorch's)
//   MULTIGRID_BENCH_WIDTH    RESNET.WIDTH_PER_GROUP (default 64, SlowFast-R50)
//   MULTIGRID_BENCH_BN       plain | stage: stage applies the library's BN rule to the batch
//                            (sub-batch BN with batch / 8 splits), as training would (default
//                            plain, the baseline's)
//   MULTIGRID_BENCH_SUB_BN   in_place | regrouped | batched: sub-batch BN's computation with
//                            MULTIGRID_BENCH_BN=stage (default: the device's)
//   MULTIGRID_BENCH_WARMUP   untimed steps per shape (default CPU 1, CUDA 4)
//   MULTIGRID_BENCH_STEPS    timed steps per shape (default CPU 3, CUDA 10)
// On CUDA the step runs with channels-last-3d tensors, bf16 autocast and cuDNN autotuning.

#include <benchmark/benchmark.h>
#include <torch/torch.h>

#include <algorithm>
#include <cstdlib>
#include <map>
#include <memory>
#include <multigrid/batch_norm_mode.hpp>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "common/bench_environment.hpp"
#include "common/sub_batch_norm_choice.hpp"
#include "compat/torch_compat.hpp"
#include "model/memory_format.hpp"
#include "model/slowfast.hpp"

namespace {

using namespace multigrid::reference;

using multigrid::bench::clip_batch_shape;
using multigrid::bench::environment;
using multigrid::bench::environment_int;

struct settings {
  torch::Device device{torch::kCPU};
  std::vector<clip_batch_shape> shapes;
  int width = 64;
  bool stage_batch_norm = false;
  int warmup = 1;
  int steps = 3;
  std::string sub_batch_norm;
};

settings read_settings() {
  settings s;
  const bool cuda =
      environment("MULTIGRID_BENCH_DEVICE", compat::cuda_available() ? "cuda" : "cpu") == "cuda";
  if (cuda && !compat::cuda_available()) {
    throw std::invalid_argument("MULTIGRID_BENCH_DEVICE=cuda, but no CUDA device is available");
  }
  s.device = cuda ? torch::Device(torch::kCUDA) : torch::Device(torch::kCPU);
  s.shapes = multigrid::bench::parse_shapes(
      environment("MULTIGRID_BENCH_SHAPES",
                  cuda ? multigrid::bench::kinetics_gpu_shapes : "1x8x112"),
      "MULTIGRID_BENCH_SHAPES");
  if (const int threads = environment_int("MULTIGRID_BENCH_THREADS", 0); threads > 0) {
    torch::set_num_threads(threads);
  }
  s.width = environment_int("MULTIGRID_BENCH_WIDTH", 64);
  const auto bn = environment("MULTIGRID_BENCH_BN", "plain");
  if (bn != "plain" && bn != "stage") {
    throw std::invalid_argument("MULTIGRID_BENCH_BN=" + bn + ": use plain or stage");
  }
  s.stage_batch_norm = bn == "stage";
  s.warmup = environment_int("MULTIGRID_BENCH_WARMUP", cuda ? 4 : 1);
  s.steps = std::max(1, environment_int("MULTIGRID_BENCH_STEPS", cuda ? 10 : 3));
  s.sub_batch_norm = multigrid::bench::choose_sub_batch_norm_from_environment(s.device);
  return s;
}

// One model and optimizer for all shapes, as one training run has.
struct training_state {
  explicit training_state(const settings& s) : model(options_for(s)) {
    model->to(s.device);
    if (s.device.is_cuda()) {
      use_channels_last_3d(*model);
      compat::set_cudnn_benchmark(true);
    }
    model->train();
    optimizer = std::make_unique<torch::optim::SGD>(
        model->parameters(), torch::optim::SGDOptions(0.1).momentum(0.9).weight_decay(1e-4));
  }
  static slowfast_options options_for(const settings& s) {
    slowfast_options options;
    options.width_per_group = s.width;
    return options;
  }
  SlowFast model;
  std::unique_ptr<torch::optim::SGD> optimizer;
  std::set<std::string> warmed_up;
};

const settings& bench_settings() {
  static const settings s = read_settings();
  return s;
}

training_state& state_for_run() {
  static training_state state(bench_settings());
  return state;
}

void training_step(benchmark::State& state, clip_batch_shape shape) {
  const auto& s = bench_settings();
  auto& training = state_for_run();
  auto& model = training.model;
  const bool cuda = s.device.is_cuda();
  const auto format = cuda ? torch::MemoryFormat::ChannelsLast3d : torch::MemoryFormat::Contiguous;

  model->set_batch_norm_mode(s.stage_batch_norm ? multigrid::choose_batch_norm(shape.batch, 8, 1)
                                                : multigrid::batch_norm_mode{});
  torch::manual_seed(0);
  const auto clips = torch::randn({shape.batch, 3, shape.frames, shape.crop, shape.crop},
                                  torch::TensorOptions().device(s.device))
                         .contiguous(format);
  const auto labels = torch::randint(0, model->options().num_classes, {shape.batch},
                                     torch::TensorOptions().device(s.device).dtype(torch::kLong));

  const auto step = [&] {
    torch::Tensor loss;
    {
      compat::autocast_scope autocast(s.device.type(), torch::kBFloat16, cuda);
      loss = torch::nn::functional::cross_entropy(model->forward(clips), labels);
    }
    compat::zero_grad_to_none(*training.optimizer);
    loss.backward();
    training.optimizer->step();
    if (cuda) torch::cuda::synchronize();
  };

  if (training.warmed_up.insert(multigrid::bench::shape_name(shape)).second) {
    for (int i = 0; i < s.warmup; ++i) step();
  }
  for (auto _ : state) step();
  state.counters["clips_per_s"] = benchmark::Counter(static_cast<double>(shape.batch),
                                                     benchmark::Counter::kIsIterationInvariantRate);
  state.SetLabel(
      std::string(cuda ? "cuda bf16 channels-last" : "cpu") + ", BN " +
      std::string(multigrid::batch_norm_type_name(model->current_batch_norm_mode().type)) +
      (model->current_batch_norm_mode().splits > 1
           ? " x" + std::to_string(model->current_batch_norm_mode().splits) + " " + s.sub_batch_norm
           : std::string()));
}

bool register_training_steps() {
  const auto& s = bench_settings();
  for (const auto& shape : s.shapes) {
    const std::string name = "training_step/" + multigrid::bench::shape_name(shape);
    // Single-step repetitions and their median, as the baseline reports.
    benchmark::RegisterBenchmark(name.c_str(), training_step, shape)
        ->Unit(benchmark::kMillisecond)
        ->UseRealTime()
        ->Iterations(1)
        ->Repetitions(s.steps)
        ->ReportAggregatesOnly(true);
  }
  return true;
}

const bool registered = register_training_steps();

}  // namespace
