#include "model/slowfast_options.hpp"

#include <doctest/doctest.h>

#include <stdexcept>
#include <string>

using namespace multigrid::reference;

namespace {

std::string read_error(const std::string& yaml) {
  try {
    read_slowfast_options(config_tree::load_string(yaml, "test.yaml"));
  } catch (const config_error& error) {
    return error.what();
  }
  return "no error";
}

}  // namespace

TEST_CASE("a configuration without model keys gets PySlowFast's defaults.py values") {
  const auto options = read_slowfast_options(config_tree::load_string("", "empty.yaml"));
  CHECK(options.depth == 50);
  CHECK(options.alpha == 8);
  CHECK(options.beta_inv == 8);
  CHECK(options.fusion_conv_channel_ratio == 2);
  CHECK(options.fusion_kernel_size == 5);
  CHECK(options.num_classes == 400);
  CHECK(options.dropout_rate == doctest::Approx(0.5));
  CHECK_FALSE(options.zero_init_final_bn);
  CHECK(options.num_frames == 8);
  // PySlowFast's single-pathway default list applies to both pathways.
  CHECK(options.blocks_with_temporal_kernel[2][0] == 6);
  CHECK(options.blocks_with_temporal_kernel[2][1] == 6);
}

TEST_CASE("the bundled Kinetics configuration reads as SlowFast-R50 8x8") {
  const auto options = read_slowfast_options(config_tree::load_file(
      MULTIGRID_SOURCE_DIR "/reference/configs/Kinetics/SLOWFAST_8x8_R50_stepwise_multigrid.yaml"));
  const slowfast_options r50;  // the struct's defaults are SlowFast-R50 8x8
  CHECK(options.alpha == r50.alpha);
  CHECK(options.fusion_kernel_size == r50.fusion_kernel_size);
  CHECK(options.zero_init_final_bn);
  CHECK(options.num_frames == 32);
  CHECK(options.crop_size == 224);
  CHECK(options.blocks_with_temporal_kernel == r50.blocks_with_temporal_kernel);
}

TEST_CASE("overrides reach the model options") {
  auto tree = config_tree::load_string("RESNET: {}\nMODEL: {}\nSLOWFAST: {}\n", "sections.yaml");
  tree.apply_overrides({"RESNET.DEPTH", "101", "MODEL.NUM_CLASSES", "174", "SLOWFAST.ALPHA", "4",
                        "RESNET.NUM_BLOCK_TEMP_KERNEL", "[[3, 3], [4, 4], [6, 6], [3, 3]]"});
  const auto options = read_slowfast_options(tree);
  CHECK(options.depth == 101);
  CHECK(options.num_classes == 174);
  CHECK(options.alpha == 4);
  CHECK(options.blocks_per_stage()[2] == 23);
}

TEST_CASE("bad model keys are errors naming the key and the value") {
  auto message = read_error("RESNET:\n  DEPTH: 34\n");
  CHECK(message.find("test.yaml:2") != std::string::npos);
  CHECK(message.find("RESNET.DEPTH = 34") != std::string::npos);
  CHECK(message.find("50 or 101") != std::string::npos);

  message = read_error("SLOWFAST:\n  FUSION_KERNEL_SZ: 4\n");
  CHECK(message.find("SLOWFAST.FUSION_KERNEL_SZ = 4") != std::string::npos);
  CHECK(message.find("odd") != std::string::npos);

  message = read_error("SLOWFAST:\n  ALPHA: 16\n");  // DATA.NUM_FRAMES defaults to 8
  CHECK(message.find("DATA.NUM_FRAMES") != std::string::npos);
  CHECK(message.find("DATA.NUM_FRAMES = 8 (default)") != std::string::npos);

  message = read_error("MODEL:\n  ARCH: i3d\n");
  CHECK(message.find("MODEL.ARCH = i3d") != std::string::npos);

  message = read_error("MODEL:\n  DROPOUT_RATE: high\n");
  CHECK(message.find("MODEL.DROPOUT_RATE = high") != std::string::npos);

  message = read_error("DATA:\n  INPUT_CHANNEL_NUM: [3, 2]\n");
  CHECK(message.find("DATA.INPUT_CHANNEL_NUM") != std::string::npos);

  message = read_error("NONLOCAL:\n  LOCATION: [[[], []], [[1], []], [[], []], [[], []]]\n");
  CHECK(message.find("NONLOCAL.LOCATION") != std::string::npos);
  CHECK(message.find("non-local") != std::string::npos);

  message = read_error("RESNET:\n  NUM_BLOCK_TEMP_KERNEL: [[3, 3], [5, 4], [6, 6], [3, 3]]\n");
  CHECK(message.find("RESNET.NUM_BLOCK_TEMP_KERNEL") != std::string::npos);
  CHECK(message.find("res3 has 4 blocks") != std::string::npos);
}

TEST_CASE("options built in code are validated with the field's name") {
  slowfast_options options;
  options.width_per_group = 4;  // 4 / BETA_INV 8 leaves the fast pathway no channels
  try {
    validate(options);
    FAIL("no error");
  } catch (const std::invalid_argument& error) {
    CHECK(std::string(error.what()).find("beta_inv = 8") != std::string::npos);
  }
  CHECK_NOTHROW(validate(slowfast_options{}));
}
