#include "train/graphed_training_step.hpp"

#include "compat/torch_compat.hpp"
#include "data/clip_normalization.hpp"

#if MULTIGRID_WITH_CUDA
#include <ATen/cuda/CUDAGraph.h>
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>
#endif

#include <map>
#include <tuple>

namespace multigrid::reference {

bool cuda_graphs_supported() noexcept {
  return MULTIGRID_WITH_CUDA != 0;
}

struct graphed_training_step::implementation {
  implementation(SlowFast model, training_optimizer& optimizer, torch::Device device,
                 std::array<float, 3> mean, std::array<float, 3> std,
                 std::function<void(const std::string&)> report, int warmup_steps)
      : model(std::move(model)),
        optimizer(optimizer),
        device(device),
        normalization(mean, std, device),
        report(std::move(report)),
        warmup_steps(warmup_steps) {}

  SlowFast model;
  training_optimizer& optimizer;
  torch::Device device;
  clip_normalization normalization;  ///< device tensors: no host copy inside a capture
  std::function<void(const std::string&)> report;
  int warmup_steps;
  bool capturing = MULTIGRID_WITH_CUDA != 0;
  torch::Tensor lr;  ///< device scalar read by the captured SGD

  using shape_key = std::tuple<std::int64_t, std::int64_t, std::int64_t, std::int64_t>;
  std::map<shape_key, int> eager_steps;  ///< warm-up steps done at each shape since the last reset
#if MULTIGRID_WITH_CUDA
  struct captured_step {
    at::cuda::CUDAGraph graph;
    torch::Tensor clips;
    torch::Tensor labels;
    torch::Tensor loss;
  };
  std::map<shape_key, std::unique_ptr<captured_step>> graphs;
#endif

  // Forward, loss and backward; the input is uint8 on the device.
  torch::Tensor forward_backward(const torch::Tensor& clips, const torch::Tensor& labels) {
    auto input = normalization(clips).contiguous(at::MemoryFormat::ChannelsLast3d);
    torch::Tensor loss;
    {
      compat::autocast_scope autocast(device.type(), at::kBFloat16, true);
      loss = torch::nn::functional::cross_entropy(model->forward(input).to(torch::kFloat), labels);
    }
    loss.backward();
    return loss.detach();
  }

  // SGD with the LR in a device tensor, so that a captured step follows the schedule. The same
  // arithmetic as torch::optim::SGD once the momentum buffers exist (the eager warm-up steps
  // create them), on the same buffers, so checkpoints see them.
  void sgd_step() {
    torch::NoGradGuard no_grad;
    const auto& settings = optimizer.settings();
    const auto& groups = optimizer.groups();
    auto update = [&](const std::vector<named_parameter>& parameters, double weight_decay) {
      for (const auto& entry : parameters) {
        auto parameter = entry.tensor;
        const auto gradient = parameter.grad();
        if (!gradient.defined()) continue;
        auto direction = weight_decay != 0 ? gradient.add(parameter, weight_decay) : gradient;
        if (settings.momentum != 0) {
          auto buffer = optimizer.momentum_buffer(parameter);
          buffer.mul_(settings.momentum).add_(direction, 1 - settings.dampening);
          direction = settings.nesterov ? direction.add(buffer, settings.momentum) : buffer;
        }
        parameter.sub_(direction * lr);
      }
    };
    update(groups.regular, settings.weight_decay);
    update(groups.batch_norm, settings.batch_norm_weight_decay);
  }

  torch::Tensor eager(const torch::Tensor& clips, const torch::Tensor& labels, double rate) {
    optimizer.zero_grad();
    const auto loss = forward_backward(clips.to(device, true), labels.to(device, true));
    optimizer.set_learning_rate(rate);
    optimizer.step();
    return loss;
  }
};

graphed_training_step::graphed_training_step(SlowFast model, training_optimizer& optimizer,
                                             torch::Device device, std::array<float, 3> mean,
                                             std::array<float, 3> std,
                                             std::function<void(const std::string&)> report,
                                             int warmup_steps)
    : implementation_(std::make_unique<implementation>(std::move(model), optimizer, device, mean,
                                                       std, std::move(report), warmup_steps)) {
  implementation_->lr =
      torch::zeros({}, torch::TensorOptions().dtype(torch::kFloat).device(device));
  if (!device.is_cuda()) implementation_->capturing = false;
}

graphed_training_step::~graphed_training_step() = default;

bool graphed_training_step::capturing() const noexcept {
  return implementation_->capturing;
}

int graphed_training_step::graphs() const noexcept {
#if MULTIGRID_WITH_CUDA
  return static_cast<int>(implementation_->graphs.size());
#else
  return 0;
#endif
}

void graphed_training_step::reset() {
  auto& self = *implementation_;
  self.eager_steps.clear();
#if MULTIGRID_WITH_CUDA
  if (!self.graphs.empty()) {
    torch::cuda::synchronize();
    self.graphs.clear();
  }
#endif
}

torch::Tensor graphed_training_step::run(const torch::Tensor& clips, const torch::Tensor& labels,
                                         double lr) {
  auto& self = *implementation_;
  self.model->train();
  const implementation::shape_key key{clips.size(0), clips.size(2), clips.size(3), clips.size(4)};
  if (!self.capturing || self.eager_steps[key] < self.warmup_steps) {
    ++self.eager_steps[key];
    return self.eager(clips, labels, lr);
  }
#if MULTIGRID_WITH_CUDA
  auto found = self.graphs.find(key);
  if (found == self.graphs.end()) {
    auto step = std::make_unique<implementation::captured_step>();
    step->clips = torch::empty(clips.sizes(), clips.options().device(self.device));
    step->labels = torch::empty(labels.sizes(), labels.options().device(self.device));
    step->clips.copy_(clips);
    step->labels.copy_(labels);
    try {
      // Capture on a side stream, with gradients released so that backward allocates them inside
      // the graph's memory pool; SGD then reads exactly the gradients the graph writes.
      torch::cuda::synchronize();
      const auto stream = c10::cuda::getStreamFromPool();
      {
        c10::cuda::CUDAStreamGuard guard(stream);
        self.optimizer.zero_grad();
        // Thread-local capture: the loader's threads keep allocating pinned memory meanwhile,
        // which a global capture forbids in every thread of the process.
        step->graph.capture_begin({0, 0}, cudaStreamCaptureModeThreadLocal);
        try {
          step->loss = self.forward_backward(step->clips, step->labels);
          self.sgd_step();
        } catch (const std::exception&) {
          // End the failed capture on its own stream, or that stream stays in capture mode and
          // every later launch on it fails. Ending an invalidated capture throws too: the first
          // error is the one to report.
          try {
            step->graph.capture_end();
          } catch (const std::exception&) {
          }
          throw;
        }
        step->graph.capture_end();
      }
      torch::cuda::synchronize();
    } catch (const std::exception& error) {
      self.capturing = false;
      self.graphs.clear();
      if (self.report) {
        self.report(std::string("CUDA graph capture failed, training on eagerly: ") + error.what());
      }
      return self.eager(clips, labels, lr);
    }
    found = self.graphs.emplace(key, std::move(step)).first;
    // Capture records the step without running it: run it now.
  }
  auto& step = *found->second;
  step.clips.copy_(clips, /*non_blocking=*/true);
  step.labels.copy_(labels, /*non_blocking=*/true);
  self.lr.fill_(lr);
  step.graph.replay();
  return step.loss;
#else
  return self.eager(clips, labels, lr);
#endif
}

}  // namespace multigrid::reference
