#include "model/model_state.hpp"

#include <doctest/doctest.h>

#include <sstream>

#include "model_test_support.hpp"

using namespace multigrid::reference;
using namespace multigrid::reference::testing;

namespace {

// A model trained a little with 8 splits, so that its split statistics differ.
SlowFast trained_with_eight_splits() {
  auto model = narrow_model(31);
  model->set_batch_norm_mode({multigrid::batch_norm_type::sub_batch, 8, 1});
  torch::NoGradGuard no_grad;
  for (int step = 0; step < 3; ++step) {
    model->forward(random_clips(8, 8, 32, 100 + static_cast<std::uint64_t>(step)) * (step + 1.0));
  }
  return model;
}

// A copy, as a checkpoint holds it: the model's own tensors would change with it.
state_dict saved_state(SlowFast& model) {
  state_dict copy;
  for (const auto& [name, tensor] : save_model_state(model)) copy[name] = tensor.clone();
  return copy;
}

void load_state(SlowFast& model, const state_dict& state) {
  load_model_state(model, state);
}

torch::Tensor eval_logits(SlowFast& model, const torch::Tensor& clips) {
  model->eval();
  torch::NoGradGuard no_grad;
  return model->forward(clips);
}

}  // namespace

TEST_CASE("a state saved with 8 splits loads with 1 and with 4 splits") {
  auto source = trained_with_eight_splits();
  const auto bytes = saved_state(source);
  const auto clips = random_clips(2, 8, 32, 99);
  const auto expected = eval_logits(source, clips);  // evaluation pools, as saving did

  for (int splits : {1, 4}) {
    CAPTURE(splits);
    auto target = narrow_model(32);  // other weights until loaded
    if (splits > 1) target->set_batch_norm_mode({multigrid::batch_norm_type::sub_batch, splits, 1});
    const auto parameters_before = target->parameters();
    load_state(target, bytes);
    for (std::size_t i = 0; i < parameters_before.size(); ++i) {
      CHECK(target->parameters()[i].is_same(parameters_before[i]));  // loaded in place
    }
    const auto source_buffers = source->named_buffers();
    for (const auto& item : target->named_buffers()) {
      CHECK(same_values(item.value(), source_buffers[item.key()]));
    }
    // Each split starts from the pooled statistics.
    const auto& layer = target->batch_norm_layers()[3];
    CHECK(same_values(layer->training_running_mean(), layer->running_mean.repeat({splits})));
    CHECK(same_values(eval_logits(target, clips), expected));
  }
}

TEST_CASE("torch::save and torch::load of the module store plain BN statistics too") {
  auto source = trained_with_eight_splits();
  std::stringstream stream;
  torch::save(source, stream);
  auto target = narrow_model(33);
  target->set_batch_norm_mode({multigrid::batch_norm_type::sub_batch, 2, 1});
  torch::load(target, stream);
  const auto clips = random_clips(2, 8, 32, 98);
  CHECK(same_values(eval_logits(target, clips), eval_logits(source, clips)));
}

TEST_CASE("a checkpoint that does not fit names the key and leaves the model unchanged") {
  auto model = narrow_model(34);
  const auto before = model->head->projection->weight.clone();

  const state_dict partial{{"head.projection.weight", torch::zeros({5, 288})}};
  CHECK_THROWS_WITH_AS(load_state(model, partial),
                       doctest::Contains("no tensor `s1.pathway0_stem.conv.weight`"),
                       model_state_error);

  auto options = narrow_options();
  options.num_classes = 7;
  SlowFast other(options);
  CHECK_THROWS_WITH_AS(load_state(model, saved_state(other)),
                       doctest::Contains("`head.projection.weight` has shape [7, 288]"),
                       model_state_error);
  CHECK(model->head->projection->weight.equal(before));
}
