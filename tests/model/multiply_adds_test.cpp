#include "model/multiply_adds.hpp"

#include <doctest/doctest.h>

#include "model_test_support.hpp"

using namespace multigrid::reference;
using namespace multigrid::reference::testing;

// Reference counts: PyTorch forward hooks on the same network built from torch.nn modules, one
// multiply-add per weight use in every Conv3d and Linear (fvcore's convention, which PySlowFast
// reports as GFLOPs: 50.3 G at 32 x 224 x 224, 65.7 G at 32 x 256 x 256).

TEST_CASE("SlowFast-R50 8x8 costs 3.30 G multiply-adds per clip at 8 x 112 x 112") {
  SlowFast model;
  CHECK(count_multiply_adds(model, 8, 112) == 3297398784);
}

TEST_CASE("SlowFast-R50 8x8 costs PySlowFast's 50.3 G multiply-adds per clip at 32 x 224 x 224") {
  SlowFast model;
  CHECK(count_multiply_adds(model, 32, 224) == 50308583424);
}

TEST_CASE("counting works at any split count and leaves the model's mode alone") {
  auto model = narrow_model(51);
  const auto plain = count_multiply_adds(model, 16, 64);
  model->set_batch_norm_mode({multigrid::batch_norm_type::sub_batch, 8, 1});
  model->train();
  CHECK(count_multiply_adds(model, 16, 64) == plain);
  CHECK(model->is_training());
  CHECK(model->batch_norm_layers().front()->splits() == 8);
  // Four times the pixels, four times the work: the count follows the real shapes.
  CHECK(count_multiply_adds(model, 16, 128) > 3 * plain);
}
