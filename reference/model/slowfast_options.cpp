#include "model/slowfast_options.hpp"

#include <cmath>
#include <sstream>
#include <stdexcept>

namespace multigrid::reference {
namespace {

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

// Strides and dilations: one entry per stage, each [slow, fast] or one value for both.
void check_per_stage(const config_tree& tree, const key<std::vector<std::vector<double>>>& handle,
                     const std::array<double, 4>& supported, const char* what) {
  const auto table = tree.get(handle);
  bool equal = table.size() == 4;
  for (std::size_t stage = 0; equal && stage < 4; ++stage) {
    equal = !table[stage].empty() && table[stage].size() <= 2;
    for (const double value : table[stage]) equal = equal && value == supported[stage];
  }
  if (!equal) tree.fail(handle, std::string("is not supported: the model builds ") + what);
}

void check_no_nonlocal(const config_tree& tree) {
  // [[[], []], ...]: one list of block indices per stage and pathway; all must be empty.
  const auto location = tree.get(keys::nonlocal_location);
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
  if (!empty) {
    tree.fail(keys::nonlocal_location,
              "non-local blocks are not supported; every list must be empty");
  }
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
  if (tree.get(keys::model_arch) != "slowfast") {
    tree.fail(keys::model_arch, "only the slowfast architecture is built here");
  }
  if (tree.get(keys::model_model_name) != "SlowFast") {
    tree.fail(keys::model_model_name, "only the SlowFast model is built here");
  }
  if (tree.get(keys::resnet_trans_func) != "bottleneck_transform") {
    tree.fail(keys::resnet_trans_func, "only bottleneck_transform is built here");
  }
  if (tree.get(keys::resnet_stride_1x1)) {
    tree.fail(keys::resnet_stride_1x1, "is not supported: the spatial stride is on the 3x3 conv");
  }
  check_per_stage(tree, keys::resnet_spatial_strides, {1, 2, 2, 2},
                  "strides [[1, 1], [2, 2], [2, 2], [2, 2]]");
  check_per_stage(tree, keys::resnet_spatial_dilations, {1, 1, 1, 1}, "no dilation");
  check_no_nonlocal(tree);

  o.num_classes = tree.get(keys::model_num_classes);
  o.dropout_rate = tree.get(keys::model_dropout_rate);
  o.fc_init_std = tree.get(keys::model_fc_init_std);
  o.depth = tree.get(keys::resnet_depth);
  o.num_groups = tree.get(keys::resnet_num_groups);
  o.width_per_group = tree.get(keys::resnet_width_per_group);
  o.zero_init_final_bn = tree.get(keys::resnet_zero_init_final_bn);
  o.alpha = tree.get(keys::slowfast_alpha);
  o.beta_inv = tree.get(keys::slowfast_beta_inv);
  o.fusion_conv_channel_ratio = tree.get(keys::slowfast_fusion_conv_channel_ratio);
  o.fusion_kernel_size = tree.get(keys::slowfast_fusion_kernel_sz);
  o.batch_norm_epsilon = tree.get(keys::bn_eps);
  o.batch_norm_momentum = tree.get(keys::bn_momentum);
  o.num_frames = tree.get(keys::data_num_frames);
  o.crop_size = tree.get(keys::data_train_crop_size);

  const auto channels = tree.get(keys::data_input_channel_num);
  if (channels.size() != 2 || channels[0] != channels[1]) {
    tree.fail(keys::data_input_channel_num,
              "must list the same channel count for the slow and the fast pathway, e.g. [3, 3]");
  }
  o.input_channels = channels[0];

  // PySlowFast's default lists one pathway ([[3], [4], [6], [3]]); SlowFast configs list two.
  const auto table = tree.get(keys::resnet_num_block_temp_kernel);
  if (table.size() != 4) {
    tree.fail(keys::resnet_num_block_temp_kernel, "must have one entry per stage res2..res5");
  }
  for (int stage = 0; stage < 4; ++stage) {
    const auto& row = table[static_cast<std::size_t>(stage)];
    if (row.empty() || row.size() > 2) {
      tree.fail(keys::resnet_num_block_temp_kernel, "each entry must be [slow, fast] block counts");
    }
    for (int pathway = 0; pathway < 2; ++pathway) {
      const double value = row[row.size() == 2 ? static_cast<std::size_t>(pathway) : 0];
      if (value != std::floor(value)) {
        tree.fail(keys::resnet_num_block_temp_kernel, "block counts must be integers");
      }
      o.blocks_with_temporal_kernel[stage][pathway] = static_cast<int>(value);
    }
  }

  // Map each problem back to the key it came from, so the message points into the file (or
  // names the default when the file leaves the key out).
  using table_key = key<std::vector<std::vector<double>>>;
  const auto report = [&](const option_problem& problem) {
    const std::string field = problem.field;
    const auto fail_int = [&](const key<int>& handle) { tree.fail(handle, problem.message); };
    const auto fail_real = [&](const key<double>& handle) { tree.fail(handle, problem.message); };
    if (field == "depth") fail_int(keys::resnet_depth);
    if (field == "num_groups") fail_int(keys::resnet_num_groups);
    if (field == "width_per_group") fail_int(keys::resnet_width_per_group);
    if (field == "alpha") fail_int(keys::slowfast_alpha);
    if (field == "beta_inv") fail_int(keys::slowfast_beta_inv);
    if (field == "fusion_conv_channel_ratio") fail_int(keys::slowfast_fusion_conv_channel_ratio);
    if (field == "fusion_kernel_size") fail_int(keys::slowfast_fusion_kernel_sz);
    if (field == "num_classes") fail_int(keys::model_num_classes);
    if (field == "dropout_rate") fail_real(keys::model_dropout_rate);
    if (field == "fc_init_std") fail_real(keys::model_fc_init_std);
    if (field == "batch_norm_epsilon") fail_real(keys::bn_eps);
    if (field == "batch_norm_momentum") fail_real(keys::bn_momentum);
    if (field == "input_channels") tree.fail(keys::data_input_channel_num, problem.message);
    if (field == "num_frames") fail_int(keys::data_num_frames);
    if (field == "crop_size") fail_int(keys::data_train_crop_size);
    if (field == "blocks_with_temporal_kernel") {
      tree.fail(table_key{keys::resnet_num_block_temp_kernel}, problem.message);
    }
    throw std::logic_error("unmapped option " + field);
  };
  for (const auto& problem : find_problems(o)) report(problem);
  return o;
}

}  // namespace multigrid::reference
