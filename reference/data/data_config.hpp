#pragma once
// Reads the dataset and loader keys of a PySlowFast-style configuration, with PySlowFast's
// defaults. Schedule keys that the loader also needs (frames, stride, crop, jitter for training)
// are the library's: the training loader takes them from the plan, never from here.
//
// Keys of our own (PySlowFast has no equivalent):
//   DATA.ANNOTATION_FORMAT     auto | pyslowfast | mmaction2 | kinetics
//   DATA.LABEL_MAP_FILE        one class name per line; line i names label i
//   DATA.SKIP_MALFORMED_LINES  skip bad annotation lines with a warning instead of failing
//   DATA.MAX_FAILURE_SHARE     share of broken videos tolerated before the loader stops (0.1)
//   DATA.DECODE_TIMEOUT        seconds one video may take to open, or to decode one clip (60)
//   DATA_LOADER.PREFETCH_BATCHES  batches decoded ahead of the trainer (2 x workers' batches)

#include <array>
#include <string>

#include "config/config_tree.hpp"
#include "data/annotation_format.hpp"
#include "data/video_dataset.hpp"

namespace multigrid::reference {

struct data_config {
  std::string path_to_data_dir;                             ///< DATA.PATH_TO_DATA_DIR
  std::string path_prefix;                                  ///< DATA.PATH_PREFIX
  std::string path_label_separator = " ";                   ///< DATA.PATH_LABEL_SEPARATOR
  annotation_format format = annotation_format::automatic;  ///< DATA.ANNOTATION_FORMAT
  std::string label_map_file;                               ///< DATA.LABEL_MAP_FILE
  bool skip_malformed_lines = false;                        ///< DATA.SKIP_MALFORMED_LINES
  int num_frames = 8;                                       ///< DATA.NUM_FRAMES
  int sampling_rate = 8;                                    ///< DATA.SAMPLING_RATE
  double target_fps = 30;                                   ///< DATA.TARGET_FPS
  std::array<int, 2> train_jitter_scales{256, 320};         ///< DATA.TRAIN_JITTER_SCALES
  int train_crop_size = 224;                                ///< DATA.TRAIN_CROP_SIZE
  int test_crop_size = 256;                                 ///< DATA.TEST_CROP_SIZE
  std::array<float, 3> mean{0.45f, 0.45f, 0.45f};           ///< DATA.MEAN
  std::array<float, 3> std{0.225f, 0.225f, 0.225f};         ///< DATA.STD
  bool random_flip = true;                                  ///< DATA.RANDOM_FLIP
  bool inverse_uniform_sample = false;                      ///< DATA.INV_UNIFORM_SAMPLE
  bool use_offset_sampling = false;                         ///< DATA.USE_OFFSET_SAMPLING
  int train_crop_num_temporal = 1;                          ///< DATA.TRAIN_CROP_NUM_TEMPORAL
  int train_crop_num_spatial = 1;                           ///< DATA.TRAIN_CROP_NUM_SPATIAL
  double max_failure_share = 0.1;                           ///< DATA.MAX_FAILURE_SHARE
  double decode_timeout = 60;                               ///< DATA.DECODE_TIMEOUT, seconds
  int num_workers = 8;                                      ///< DATA_LOADER.NUM_WORKERS
  int prefetch_batches = 0;  ///< DATA_LOADER.PREFETCH_BATCHES; 0 = automatic
};

/// Reads and checks the keys; errors name the key, its value and where it was written.
data_config read_data_config(const config_tree& tree);

/// The annotation options the configuration describes.
annotation_options annotation_options_for(const data_config& config);

/// Loads split "train", "val" or "test" from DATA.PATH_TO_DATA_DIR (see annotation_format.hpp for
/// the file names). `class_names` (e.g. the training set's) keep labels consistent across splits.
video_dataset load_split(const data_config& config, const std::string& split,
                         const std::vector<std::string>& class_names = {});

}  // namespace multigrid::reference
