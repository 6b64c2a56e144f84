#include "data/data_config.hpp"

#include "data/dataset_error.hpp"

namespace multigrid::reference {
namespace {

std::array<float, 3> read_channels(const config_tree& tree, const key<std::vector<double>>& handle,
                                   bool positive) {
  const auto values = tree.get(handle);
  if (values.size() != 3 && values.size() != 1) {
    tree.fail(handle, "must be a list of three numbers (red, green, blue) or one for all channels");
  }
  std::array<float, 3> result{};
  for (std::size_t c = 0; c < 3; ++c) {
    result[c] = static_cast<float>(values[values.size() == 1 ? 0 : c]);
    if (positive && !(result[c] > 0)) tree.fail(handle, "must be positive");
  }
  return result;
}

int read_positive(const config_tree& tree, const key<int>& handle) {
  const int value = tree.get(handle);
  if (value <= 0) tree.fail(handle, "must be a positive integer");
  return value;
}

}  // namespace

data_config read_data_config(const config_tree& tree) {
  data_config config;
  config.path_to_data_dir = tree.get(keys::data_path_to_data_dir);
  config.path_prefix = tree.get(keys::data_path_prefix);
  config.path_label_separator = tree.get(keys::data_path_label_separator);
  if (config.path_label_separator.empty()) {
    tree.fail(keys::data_path_label_separator, "must not be empty");
  }
  const auto format = parse_annotation_format(tree.get(keys::data_annotation_format));
  if (!format) {
    tree.fail(keys::data_annotation_format, "use auto, pyslowfast, mmaction2 or kinetics");
  }
  config.format = *format;
  config.label_map_file = tree.get(keys::data_label_map_file);
  config.skip_malformed_lines = tree.get(keys::data_skip_malformed_lines);
  config.num_frames = read_positive(tree, keys::data_num_frames);
  config.sampling_rate = read_positive(tree, keys::data_sampling_rate);
  config.target_fps = tree.get(keys::data_target_fps);
  if (!(config.target_fps > 0)) tree.fail(keys::data_target_fps, "must be positive");
  const auto scales = tree.get(keys::data_train_jitter_scales);
  if (scales.size() != 2 || scales[0] <= 0 || scales[1] < scales[0]) {
    tree.fail(keys::data_train_jitter_scales, "must be [min, max] with 0 < min <= max");
  }
  config.train_jitter_scales = {scales[0], scales[1]};
  config.train_crop_size = read_positive(tree, keys::data_train_crop_size);
  config.test_crop_size = read_positive(tree, keys::data_test_crop_size);
  config.mean = read_channels(tree, keys::data_mean, false);
  config.std = read_channels(tree, keys::data_std, true);
  config.random_flip = tree.get(keys::data_random_flip);
  config.inverse_uniform_sample = tree.get(keys::data_inv_uniform_sample);
  config.use_offset_sampling = tree.get(keys::data_use_offset_sampling);
  config.train_crop_num_temporal = read_positive(tree, keys::data_train_crop_num_temporal);
  config.train_crop_num_spatial = read_positive(tree, keys::data_train_crop_num_spatial);
  config.max_failure_share = tree.get(keys::data_max_failure_share);
  if (!(config.max_failure_share >= 0 && config.max_failure_share <= 1)) {
    tree.fail(keys::data_max_failure_share, "must be a share between 0 and 1");
  }
  config.decode_timeout = tree.get(keys::data_decode_timeout);
  if (!(config.decode_timeout > 0)) {
    tree.fail(keys::data_decode_timeout, "must be a positive number of seconds");
  }
  config.num_workers = read_positive(tree, keys::data_loader_num_workers);
  config.prefetch_batches = tree.get(keys::data_loader_prefetch_batches);
  if (config.prefetch_batches < 0) {
    tree.fail(keys::data_loader_prefetch_batches, "must not be negative");
  }
  return config;
}

annotation_options annotation_options_for(const data_config& config) {
  annotation_options options;
  options.format = config.format;
  options.path_prefix = config.path_prefix;
  options.separator = config.path_label_separator;
  options.label_map_file = config.label_map_file;
  options.skip_malformed_lines = config.skip_malformed_lines;
  return options;
}

video_dataset load_split(const data_config& config, const std::string& split,
                         const std::vector<std::string>& class_names) {
  if (config.path_to_data_dir.empty()) {
    throw dataset_error(
        "DATA.PATH_TO_DATA_DIR is not set: it names the folder of the annotation files");
  }
  auto options = annotation_options_for(config);
  options.class_names = class_names;
  const auto file = annotation_file_for_split(config.path_to_data_dir, split, config.format);
  return video_dataset::load(file, options);
}

}  // namespace multigrid::reference
