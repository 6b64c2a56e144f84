#include "model/slowfast.hpp"

#include <doctest/doctest.h>

#include <cmath>
#include <multigrid/epoch_schedule.hpp>
#include <multigrid/stage_settings.hpp>
#include <set>
#include <string>
#include <utility>

#include "config/schedule_config.hpp"
#include "model/model_summary.hpp"
#include "model/parameter_groups.hpp"
#include "model/slow_pathway_frames.hpp"
#include "model_test_support.hpp"

using namespace multigrid::reference;
using namespace multigrid::reference::testing;

namespace {

std::int64_t parameter_count(SlowFast& model) {
  std::int64_t count = 0;
  for (const auto& parameter : model->parameters()) count += parameter.numel();
  return count;
}

std::vector<std::int64_t> as_vector(const torch::Tensor& indices) {
  return {indices.data_ptr<std::int64_t>(), indices.data_ptr<std::int64_t>() + indices.numel()};
}

}  // namespace

TEST_CASE("SlowFast-R50 8x8 has PySlowFast's 34,566,488 parameters at 400 classes") {
  SlowFast model;
  CHECK(parameter_count(model) == 34566488);
}

TEST_CASE("SlowFast-R101 with six temporal-kernel res4 blocks has 53,861,080 parameters") {
  // The count of the same network built with PyTorch's own modules.
  slowfast_options options;
  options.depth = 101;
  SlowFast model(options);
  CHECK(parameter_count(model) == 53861080);
}

TEST_CASE("parameters and buffers carry PySlowFast's names") {
  auto model = narrow_model();
  const auto parameters = model->named_parameters();
  for (const char* key :
       {"s1.pathway0_stem.conv.weight", "s1.pathway1_stem.bn.weight", "s1_fuse.conv_f2s.weight",
        "s2.pathway0_res0.branch1.weight", "s2.pathway0_res0.branch1_bn.bias",
        "s4.pathway1_res5.branch2.b.weight", "s5.pathway0_res2.branch2.c_bn.weight",
        "s4_fuse.bn.weight", "head.projection.weight", "head.projection.bias"}) {
    CHECK_MESSAGE(parameters.contains(key), key);
  }
  CHECK_FALSE(parameters.contains("s2.pathway0_res1.branch1.weight"));  // identity shortcut
  const auto buffers = model->named_buffers();
  CHECK(buffers.contains("s3.pathway1_res3.branch2.a_bn.running_mean"));
  CHECK(buffers.contains("s3.pathway1_res3.branch2.a_bn.running_var"));
  // Conv a's temporal kernel: slow 1 in res2/res3, 3 in res4/res5; fast 3 everywhere.
  CHECK(parameters["s3.pathway0_res0.branch2.a.weight"].size(2) == 1);
  CHECK(parameters["s4.pathway0_res0.branch2.a.weight"].size(2) == 3);
  CHECK(parameters["s2.pathway1_res0.branch2.a.weight"].size(2) == 3);
  CHECK(parameters["s1.pathway1_stem.conv.weight"].size(2) == 5);
  CHECK(parameters["s1_fuse.conv_f2s.weight"].size(2) == 7);
}

TEST_CASE("the slow pathway takes PySlowFast's linspace frames of the fast clip") {
  CHECK(as_vector(slow_pathway_frame_indices(32, 4)) ==
        std::vector<std::int64_t>{0, 4, 8, 13, 17, 22, 26, 31});
  CHECK(as_vector(slow_pathway_frame_indices(16, 4)) == std::vector<std::int64_t>{0, 5, 10, 15});
  CHECK(as_vector(slow_pathway_frame_indices(8, 4)) == std::vector<std::int64_t>{0, 7});
  CHECK(as_vector(slow_pathway_frame_indices(32, 8)) == std::vector<std::int64_t>{0, 10, 20, 31});
  CHECK_THROWS_AS(slow_pathway_frame_indices(3, 4), std::invalid_argument);

  // Frame t of the clip holds the value t: the selection shows in the values.
  const auto clip =
      torch::arange(16, torch::kFloat).view({1, 1, 16, 1, 1}).expand({2, 3, 16, 4, 4}).contiguous();
  const auto slow = select_slow_pathway(clip, 4);
  CHECK(slow.sizes() == torch::IntArrayRef{2, 3, 4, 4, 4});
  CHECK(slow[1][2].select(1, 0).select(1, 0).equal(torch::tensor({0.f, 5.f, 10.f, 15.f})));
}

TEST_CASE("the model runs at every distinct clip shape of the Kinetics multigrid schedule") {
  const auto tree = config_tree::load_file(
      MULTIGRID_SOURCE_DIR "/reference/configs/Kinetics/SLOWFAST_8x8_R50_stepwise_multigrid.yaml");
  const auto sizes = distinct_clip_sizes(read_schedule_config(tree));
  std::set<std::pair<int, int>> expected{{8, 112},  {8, 158},  {16, 112}, {16, 158},
                                         {16, 224}, {32, 112}, {32, 158}, {32, 224}};
  std::set<std::pair<int, int>> found;
  for (const auto& size : sizes) found.insert({size.frames, size.crop});
  CHECK(found == expected);
  CHECK(found.size() == sizes.size());

  auto model = narrow_model();
  for (const auto& size : sizes) {
    CAPTURE(size.frames);
    CAPTURE(size.crop);
    model->train();
    const auto logits = model->forward(random_clips(2, size.frames, size.crop));
    CHECK(logits.sizes() == torch::IntArrayRef{2, 5});
    model->eval();
    torch::NoGradGuard no_grad;
    CHECK(model->forward(random_clips(1, size.frames, size.crop)).sizes() ==
          torch::IntArrayRef{1, 5});
  }
}

TEST_CASE("initialisation: He fan-out convolutions, zero final BN scales, N(0, 0.01) classifier") {
  torch::manual_seed(3);
  SlowFast model;
  int zero_scales = 0;
  for (const auto& layer : model->batch_norm_layers()) {
    CHECK(layer->bias.abs().max().item<float>() == 0);
    if (layer->name().find("branch2.c_bn") != std::string::npos) {
      CHECK(layer->weight.abs().max().item<float>() == 0);
      ++zero_scales;
    } else {
      CHECK(layer->weight.eq(1).all().item<bool>());
    }
  }
  CHECK(zero_scales == 2 * (3 + 4 + 6 + 3));

  // res4 slow conv b: 256 -> 256 channels, 1 x 3 x 3: fan-out 2304, He std sqrt(2 / 2304).
  const auto& conv = model->s4->blocks[0][1]->branch2->b->weight;
  CHECK(conv.std().item<double>() == doctest::Approx(std::sqrt(2.0 / 2304)).epsilon(0.01));
  CHECK(model->head->projection->weight.std().item<double>() ==
        doctest::Approx(0.01).epsilon(0.02));
  CHECK(model->head->projection->bias.abs().max().item<float>() == 0);

  auto options = narrow_options();
  options.zero_init_final_bn = false;
  SlowFast plain(options);
  for (const auto& layer : plain->batch_norm_layers()) {
    CHECK(layer->weight.eq(1).all().item<bool>());
  }
}

TEST_CASE("bad clips are rejected with their shape") {
  auto model = narrow_model();
  const auto message_of = [&](const torch::Tensor& clip) {
    try {
      model->forward(clip);
    } catch (const std::invalid_argument& error) {
      return std::string(error.what());
    }
    return std::string("no error");
  };
  CHECK(message_of(torch::zeros({1, 3, 8, 32})).find("[1, 3, 8, 32]") != std::string::npos);
  CHECK(message_of(torch::zeros({1, 1, 8, 32, 32})).find("(N, 3, T, H, W)") != std::string::npos);
  CHECK(message_of(torch::zeros({1, 3, 2, 32, 32})).find("ALPHA = 4") != std::string::npos);
  // 10 frames: the fusion's strided frames (3) do not line up with the slow pathway's (2).
  CHECK(message_of(torch::zeros({1, 3, 10, 32, 32})).find("multiple of ALPHA") !=
        std::string::npos);
}

TEST_CASE("parameter groups: BN affine pairs apart from the rest, the same tensors in every mode") {
  auto model = narrow_model();
  const auto groups = split_parameter_groups(model);
  CHECK(groups.batch_norm.size() == 2 * model->batch_norm_layers().size());
  CHECK(groups.batch_norm.size() + groups.other.size() == model->parameters().size());
  for (const auto& parameter : groups.other) CHECK(parameter.dim() >= 1);
  CHECK(groups.other.back().is_same(model->head->projection->bias));

  model->set_batch_norm_mode({multigrid::batch_norm_type::sub_batch, 4, 1});
  const auto after = split_parameter_groups(model);
  REQUIRE(after.batch_norm.size() == groups.batch_norm.size());
  for (std::size_t i = 0; i < after.batch_norm.size(); ++i) {
    CHECK(after.batch_norm[i].is_same(groups.batch_norm[i]));
  }
}
