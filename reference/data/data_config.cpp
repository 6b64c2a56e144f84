#include "data/data_config.hpp"

#include "data/dataset_error.hpp"

namespace multigrid::reference {
namespace {

std::array<float, 3> read_channels(const config_tree& tree, const std::string& key,
                                   const std::array<float, 3>& fallback, bool positive) {
  const auto values = tree.get_double_list(key, {fallback[0], fallback[1], fallback[2]});
  if (values.size() != 3 && values.size() != 1) {
    tree.fail(key, "must be a list of three numbers (red, green, blue) or one for all channels");
  }
  std::array<float, 3> result{};
  for (std::size_t c = 0; c < 3; ++c) {
    result[c] = static_cast<float>(values[values.size() == 1 ? 0 : c]);
    if (positive && !(result[c] > 0)) tree.fail(key, "must be positive");
  }
  return result;
}

int read_positive(const config_tree& tree, const std::string& key, int fallback) {
  const int value = tree.get_int(key, fallback);
  if (value <= 0) tree.fail(key, "must be a positive integer");
  return value;
}

}  // namespace

data_config read_data_config(const config_tree& tree) {
  data_config config;
  config.path_to_data_dir = tree.get_string("DATA.PATH_TO_DATA_DIR", config.path_to_data_dir);
  config.path_prefix = tree.get_string("DATA.PATH_PREFIX", config.path_prefix);
  config.path_label_separator =
      tree.get_string("DATA.PATH_LABEL_SEPARATOR", config.path_label_separator);
  if (config.path_label_separator.empty())
    tree.fail("DATA.PATH_LABEL_SEPARATOR", "must not be empty");
  const auto format_name = tree.get_string("DATA.ANNOTATION_FORMAT", "auto");
  const auto format = parse_annotation_format(format_name);
  if (!format) tree.fail("DATA.ANNOTATION_FORMAT", "use auto, pyslowfast, mmaction2 or kinetics");
  config.format = *format;
  config.label_map_file = tree.get_string("DATA.LABEL_MAP_FILE", config.label_map_file);
  config.skip_malformed_lines =
      tree.get_bool("DATA.SKIP_MALFORMED_LINES", config.skip_malformed_lines);
  config.num_frames = read_positive(tree, "DATA.NUM_FRAMES", config.num_frames);
  config.sampling_rate = read_positive(tree, "DATA.SAMPLING_RATE", config.sampling_rate);
  config.target_fps = tree.get_double("DATA.TARGET_FPS", config.target_fps);
  if (!(config.target_fps > 0)) tree.fail("DATA.TARGET_FPS", "must be positive");
  const auto scales = tree.get_int_list(
      "DATA.TRAIN_JITTER_SCALES", {config.train_jitter_scales[0], config.train_jitter_scales[1]});
  if (scales.size() != 2 || scales[0] <= 0 || scales[1] < scales[0]) {
    tree.fail("DATA.TRAIN_JITTER_SCALES", "must be [min, max] with 0 < min <= max");
  }
  config.train_jitter_scales = {scales[0], scales[1]};
  config.train_crop_size = read_positive(tree, "DATA.TRAIN_CROP_SIZE", config.train_crop_size);
  config.test_crop_size = read_positive(tree, "DATA.TEST_CROP_SIZE", config.test_crop_size);
  config.mean = read_channels(tree, "DATA.MEAN", config.mean, false);
  config.std = read_channels(tree, "DATA.STD", config.std, true);
  config.random_flip = tree.get_bool("DATA.RANDOM_FLIP", config.random_flip);
  config.inverse_uniform_sample =
      tree.get_bool("DATA.INV_UNIFORM_SAMPLE", config.inverse_uniform_sample);
  config.train_crop_num_temporal =
      read_positive(tree, "DATA.TRAIN_CROP_NUM_TEMPORAL", config.train_crop_num_temporal);
  config.train_crop_num_spatial =
      read_positive(tree, "DATA.TRAIN_CROP_NUM_SPATIAL", config.train_crop_num_spatial);
  config.max_failure_share = tree.get_double("DATA.MAX_FAILURE_SHARE", config.max_failure_share);
  if (!(config.max_failure_share >= 0 && config.max_failure_share <= 1)) {
    tree.fail("DATA.MAX_FAILURE_SHARE", "must be a share between 0 and 1");
  }
  config.decode_timeout = tree.get_double("DATA.DECODE_TIMEOUT", config.decode_timeout);
  if (!(config.decode_timeout > 0))
    tree.fail("DATA.DECODE_TIMEOUT", "must be a positive number of seconds");
  config.num_workers = read_positive(tree, "DATA_LOADER.NUM_WORKERS", config.num_workers);
  config.prefetch_batches = tree.get_int("DATA_LOADER.PREFETCH_BATCHES", config.prefetch_batches);
  if (config.prefetch_batches < 0)
    tree.fail("DATA_LOADER.PREFETCH_BATCHES", "must not be negative");
  config.num_ensemble_views =
      read_positive(tree, "TEST.NUM_ENSEMBLE_VIEWS", config.num_ensemble_views);
  config.num_spatial_crops =
      read_positive(tree, "TEST.NUM_SPATIAL_CROPS", config.num_spatial_crops);
  if (config.num_spatial_crops > 3) tree.fail("TEST.NUM_SPATIAL_CROPS", "must be 1, 2 or 3");
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
