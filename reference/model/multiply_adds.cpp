#include "model/multiply_adds.hpp"

#include "model/multiply_add_counter.hpp"

namespace multigrid::reference {

std::int64_t count_multiply_adds(SlowFast& model, int frames, int crop) {
  const bool was_training = model->is_training();
  model->eval();
  multiply_add_counter counter;
  try {
    torch::NoGradGuard no_grad;
    const auto options = model->parameters().front().options();
    model->forward(torch::empty({0, model->options().input_channels, frames, crop, crop}, options));
  } catch (...) {
    model->train(was_training);
    throw;
  }
  model->train(was_training);
  return counter.total();
}

}  // namespace multigrid::reference
