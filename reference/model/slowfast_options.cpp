#include "model/slowfast_options.hpp"

#include <cmath>
#include <sstream>
#include <stdexcept>

namespace multigrid::reference {
namespace {

// PySlowFast's defaults.py, for keys a configuration leaves out.
constexpr int default_alpha = 8;
constexpr int default_fusion_kernel_size = 5;
constexpr bool default_zero_init_final_bn = false;
constexpr int default_num_frames = 8;

// The problems of a set of options, as (field, value, message); empty when they build a model.
struct option_problem {
  const char* field;
  std::string value;
  std::string message;
};

template <class T>
std::string to_text(T value) {
  std::ostringstream text;
  text << value;
  return text.str();
}

std::vector<option_problem> find_problems(const slowfast_options& o) {
  std::vector<option_problem> problems;
  auto check = [&](bool ok, const char* field, auto value, std::string message) {
    if (!ok) problems.push_back({field, to_text(value), std::move(message)});
  };
  check(o.depth == 50 || o.depth == 101, "depth", o.depth, "must be 50 or 101");
  check(o.num_groups >= 1, "num_groups", o.num_groups, "must be at least 1");
  check(o.width_per_group >= 1, "width_per_group", o.width_per_group, "must be at least 1");
  check(o.alpha >= 1, "alpha", o.alpha, "must be at least 1");
  check(o.beta_inv >= 1, "beta_inv", o.beta_inv, "must be at least 1");
  if (o.width_per_group >= 1 && o.beta_inv >= 1) {
    check(o.width_per_group / o.beta_inv >= 1, "beta_inv", o.beta_inv,
          "leaves the fast pathway no channels (WIDTH_PER_GROUP / BETA_INV is 0)");
  }
  check(o.fusion_conv_channel_ratio >= 1, "fusion_conv_channel_ratio", o.fusion_conv_channel_ratio,
        "must be at least 1");
  check(o.fusion_kernel_size >= 1 && o.fusion_kernel_size % 2 == 1, "fusion_kernel_size",
        o.fusion_kernel_size, "must be a positive odd number");
  check(o.num_classes >= 1, "num_classes", o.num_classes, "must be at least 1");
  check(o.dropout_rate >= 0 && o.dropout_rate < 1, "dropout_rate", o.dropout_rate,
        "must be in [0, 1)");
  check(o.fc_init_std >= 0 && std::isfinite(o.fc_init_std), "fc_init_std", o.fc_init_std,
        "must be a finite number >= 0");
  check(o.batch_norm_epsilon > 0, "batch_norm_epsilon", o.batch_norm_epsilon, "must be positive");
  check(o.batch_norm_momentum > 0 && o.batch_norm_momentum <= 1, "batch_norm_momentum",
        o.batch_norm_momentum, "must be in (0, 1]");
  check(o.input_channels >= 1, "input_channels", o.input_channels, "must be at least 1");
  check(o.num_frames >= 1, "num_frames", o.num_frames, "must be at least 1");
  if (o.num_frames >= 1 && o.alpha >= 1) {
    check(o.num_frames / o.alpha >= 1, "num_frames", o.num_frames,
          "gives the slow pathway no frames (fewer than ALPHA)");
  }
  check(o.crop_size >= 1, "crop_size", o.crop_size, "must be at least 1");
  if (o.depth == 50 || o.depth == 101) {
    const auto blocks = o.blocks_per_stage();
    for (int stage = 0; stage < 4; ++stage) {
      for (int pathway = 0; pathway < 2; ++pathway) {
        const int count = o.blocks_with_temporal_kernel[stage][pathway];
        check(count >= 0 && count <= blocks[stage], "blocks_with_temporal_kernel", count,
              "res" + std::to_string(stage + 2) + " has " + std::to_string(blocks[stage]) +
                  " blocks");
      }
    }
  }
  return problems;
}

void check_equals(const config_tree& tree, const std::string& key,
                  const std::vector<std::vector<double>>& supported, const char* what) {
  if (tree.get_double_table(key, supported) != supported) {
    tree.fail(key, std::string("is not supported: the model builds ") + what);
  }
}

void check_no_nonlocal(const config_tree& tree) {
  const std::string key = "NONLOCAL.LOCATION";
  if (!tree.has(key)) return;
  // [[[], []], ...]: one list of block indices per stage and pathway; all must be empty.
  const YAML::Node& root = tree.root();
  const YAML::Node section = root["NONLOCAL"];
  const YAML::Node location = section["LOCATION"];
  bool empty = location.IsSequence();
  if (empty) {
    for (const auto& stage : location) {
      if (!stage.IsSequence()) {
        empty = false;
        break;
      }
      for (const auto& pathway : stage) {
        if (!pathway.IsSequence() || pathway.size() != 0) empty = false;
      }
    }
  }
  if (!empty) tree.fail(key, "non-local blocks are not supported; every list must be empty");
}

}  // namespace

std::array<int, 4> slowfast_options::blocks_per_stage() const {
  if (depth == 101) return {3, 4, 23, 3};
  return {3, 4, 6, 3};
}

void validate(const slowfast_options& options) {
  const auto problems = find_problems(options);
  if (problems.empty()) return;
  std::string text = "invalid SlowFast options:";
  for (const auto& problem : problems) {
    text += std::string("\n  ") + problem.field + " = " + problem.value + ": " + problem.message;
  }
  throw std::invalid_argument(text);
}

slowfast_options read_slowfast_options(const config_tree& tree) {
  slowfast_options o;
  const auto arch = tree.get_string("MODEL.ARCH", "slowfast");
  if (arch != "slowfast") tree.fail("MODEL.ARCH", "only the slowfast architecture is built here");
  const auto name = tree.get_string("MODEL.MODEL_NAME", "SlowFast");
  if (name != "SlowFast") tree.fail("MODEL.MODEL_NAME", "only the SlowFast model is built here");
  const auto transform = tree.get_string("RESNET.TRANS_FUNC", "bottleneck_transform");
  if (transform != "bottleneck_transform") {
    tree.fail("RESNET.TRANS_FUNC", "only bottleneck_transform is built here");
  }
  if (tree.get_bool("RESNET.STRIDE_1X1", false)) {
    tree.fail("RESNET.STRIDE_1X1", "is not supported: the spatial stride is on the 3x3 conv");
  }
  check_equals(tree, "RESNET.SPATIAL_STRIDES", {{1, 1}, {2, 2}, {2, 2}, {2, 2}},
               "strides [[1, 1], [2, 2], [2, 2], [2, 2]]");
  check_equals(tree, "RESNET.SPATIAL_DILATIONS", {{1, 1}, {1, 1}, {1, 1}, {1, 1}}, "no dilation");
  check_no_nonlocal(tree);

  o.num_classes = tree.get_int("MODEL.NUM_CLASSES", o.num_classes);
  o.dropout_rate = tree.get_double("MODEL.DROPOUT_RATE", o.dropout_rate);
  o.fc_init_std = tree.get_double("MODEL.FC_INIT_STD", o.fc_init_std);
  o.depth = tree.get_int("RESNET.DEPTH", o.depth);
  o.num_groups = tree.get_int("RESNET.NUM_GROUPS", o.num_groups);
  o.width_per_group = tree.get_int("RESNET.WIDTH_PER_GROUP", o.width_per_group);
  o.zero_init_final_bn = tree.get_bool("RESNET.ZERO_INIT_FINAL_BN", default_zero_init_final_bn);
  o.alpha = tree.get_int("SLOWFAST.ALPHA", default_alpha);
  o.beta_inv = tree.get_int("SLOWFAST.BETA_INV", o.beta_inv);
  o.fusion_conv_channel_ratio =
      tree.get_int("SLOWFAST.FUSION_CONV_CHANNEL_RATIO", o.fusion_conv_channel_ratio);
  o.fusion_kernel_size = tree.get_int("SLOWFAST.FUSION_KERNEL_SZ", default_fusion_kernel_size);
  o.batch_norm_epsilon = tree.get_double("BN.EPS", o.batch_norm_epsilon);
  o.batch_norm_momentum = tree.get_double("BN.MOMENTUM", o.batch_norm_momentum);
  o.num_frames = tree.get_int("DATA.NUM_FRAMES", default_num_frames);
  o.crop_size = tree.get_int("DATA.TRAIN_CROP_SIZE", o.crop_size);

  const auto channels = tree.get_int_list("DATA.INPUT_CHANNEL_NUM", {3, 3});
  if (channels.size() != 2 || channels[0] != channels[1]) {
    tree.fail("DATA.INPUT_CHANNEL_NUM",
              "must list the same channel count for the slow and the fast pathway, e.g. [3, 3]");
  }
  o.input_channels = channels[0];

  // PySlowFast's default lists one pathway ([[3], [4], [6], [3]]); SlowFast configs list two.
  const auto table = tree.get_double_table("RESNET.NUM_BLOCK_TEMP_KERNEL", {{3}, {4}, {6}, {3}});
  if (table.size() != 4) {
    tree.fail("RESNET.NUM_BLOCK_TEMP_KERNEL", "must have one entry per stage res2..res5");
  }
  for (int stage = 0; stage < 4; ++stage) {
    const auto& row = table[static_cast<std::size_t>(stage)];
    if (row.empty() || row.size() > 2) {
      tree.fail("RESNET.NUM_BLOCK_TEMP_KERNEL", "each entry must be [slow, fast] block counts");
    }
    for (int pathway = 0; pathway < 2; ++pathway) {
      const double value = row[row.size() == 2 ? static_cast<std::size_t>(pathway) : 0];
      if (value != std::floor(value)) {
        tree.fail("RESNET.NUM_BLOCK_TEMP_KERNEL", "block counts must be integers");
      }
      o.blocks_with_temporal_kernel[stage][pathway] = static_cast<int>(value);
    }
  }

  // Map each problem back to the key it came from, so the message points into the file.
  static const std::vector<std::pair<std::string, std::string>> keys = {
      {"depth", "RESNET.DEPTH"},
      {"num_groups", "RESNET.NUM_GROUPS"},
      {"width_per_group", "RESNET.WIDTH_PER_GROUP"},
      {"alpha", "SLOWFAST.ALPHA"},
      {"beta_inv", "SLOWFAST.BETA_INV"},
      {"fusion_conv_channel_ratio", "SLOWFAST.FUSION_CONV_CHANNEL_RATIO"},
      {"fusion_kernel_size", "SLOWFAST.FUSION_KERNEL_SZ"},
      {"num_classes", "MODEL.NUM_CLASSES"},
      {"dropout_rate", "MODEL.DROPOUT_RATE"},
      {"fc_init_std", "MODEL.FC_INIT_STD"},
      {"batch_norm_epsilon", "BN.EPS"},
      {"batch_norm_momentum", "BN.MOMENTUM"},
      {"input_channels", "DATA.INPUT_CHANNEL_NUM"},
      {"num_frames", "DATA.NUM_FRAMES"},
      {"crop_size", "DATA.TRAIN_CROP_SIZE"},
      {"blocks_with_temporal_kernel", "RESNET.NUM_BLOCK_TEMP_KERNEL"},
  };
  for (const auto& problem : find_problems(o)) {
    for (const auto& [field, key] : keys) {
      if (field != problem.field) continue;
      // A key the file leaves out has no value to show: say which default was used.
      if (!tree.has(key))
        tree.fail(key, "defaults to " + problem.value + ", which " + problem.message);
      tree.fail(key, problem.message);
    }
    throw std::logic_error(std::string("unmapped option ") + problem.field);
  }
  return o;
}

}  // namespace multigrid::reference
