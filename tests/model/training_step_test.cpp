#include <doctest/doctest.h>

#include "model/parameter_groups.hpp"
#include "model_test_support.hpp"

using namespace multigrid::reference;
using namespace multigrid::reference::testing;

namespace {

double training_loss(SlowFast& model, const torch::Tensor& clips, const torch::Tensor& labels) {
  torch::NoGradGuard no_grad;
  return torch::nn::functional::cross_entropy(model->forward(clips), labels).item<double>();
}

}  // namespace

TEST_CASE("one SGD step lowers the loss on a fixed batch, in every BN mode") {
  for (int splits : {1, 2}) {
    CAPTURE(splits);
    auto model = narrow_model(61);
    model->set_batch_norm_mode(
        {splits == 1 ? multigrid::batch_norm_type::plain : multigrid::batch_norm_type::sub_batch,
         splits, 1});
    const auto clips = random_clips(4, 8, 32, 62);
    const auto labels = torch::tensor({0, 3, 1, 4}, torch::kLong);
    const auto groups = split_parameter_groups(model);
    // PySlowFast's recipe: momentum 0.9, weight decay 1e-4 except on BN.
    torch::optim::SGD optimizer(
        {torch::optim::OptimizerParamGroup(
             groups.other, std::make_unique<torch::optim::SGDOptions>(
                               torch::optim::SGDOptions(0.05).momentum(0.9).weight_decay(1e-4))),
         torch::optim::OptimizerParamGroup(groups.batch_norm,
                                           std::make_unique<torch::optim::SGDOptions>(
                                               torch::optim::SGDOptions(0.05).momentum(0.9)))},
        torch::optim::SGDOptions(0.05));
    model->train();
    const double before = training_loss(model, clips, labels);
    optimizer.zero_grad();
    const auto loss = torch::nn::functional::cross_entropy(model->forward(clips), labels);
    CHECK(loss.item<double>() == doctest::Approx(before).epsilon(1e-5));
    loss.backward();
    optimizer.step();
    const double after = training_loss(model, clips, labels);
    CHECK(after < before);
  }
}
