#pragma once
// Writes a synthetic video dataset whose classes differ only by motion (see synthetic_scene.hpp),
// as real video files in the Kinetics layout: ROOT/{class}/{id}_{start:06d}_{end:06d}.mp4 (spaces
// in class folders written as underscores, as PySlowFast's space-separated lists need), with
// annotation files for all three formats (train/val/test): {split}.csv (PySlowFast),
// {split}_list_videos.txt (mmaction2), kinetics_{split}.csv (Kinetics), and classes.txt (class
// names in label order, which is alphabetical as in Kinetics). Deterministic for a seed; videos
// that already exist are kept, so an interrupted run resumes.

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "data/synthetic_scene.hpp"

namespace multigrid::reference {

struct synthetic_dataset_options {
  std::string root;
  int classes = 10;  ///< the first N of motion_classes(), unless class_list names them
  std::vector<std::string> class_list;  ///< names from motion_classes(); overrides `classes`
  scene_style style;
  int train_per_class = 20;
  int val_per_class = 4;
  int test_per_class = 4;
  int width = 64;
  int height = 48;
  double fps = 30;
  double seconds = 2;
  std::string codec = "auto";  ///< libx264 where available, else mpeg4; or an encoder name
  int keyframe_interval = 0;   ///< 0: the encoder's default (x264: 250)
  std::string preset;          ///< x264 preset; empty: x264's default (medium)
  int quality = -1;            ///< CRF / qscale; -1: default
  int rotation = 0;            ///< clockwise display rotation written as metadata
  bool faststart = false;
  scene_content content = scene_content::motion;
  std::uint64_t seed = 0;
  int jobs = 1;                                      ///< videos encoded in parallel
  std::function<void(const std::string&)> progress;  ///< one line per video written
};

struct synthetic_dataset_summary {
  std::int64_t written = 0;
  std::int64_t kept = 0;  ///< already there from an earlier run
  std::string codec;
  std::vector<std::string> class_names;  ///< in label order
};

/// Writes (or completes) the dataset; throws std::runtime_error naming the file on failure.
synthetic_dataset_summary make_synthetic_dataset(const synthetic_dataset_options& options);

/// One synthetic video: `frames` frames of `scene` at `fps`. Writes to a temporary name and
/// renames, so the file exists only when complete.
void write_synthetic_video(const std::string& path, const synthetic_scene& scene, int width,
                           int height, double fps, int frames,
                           const synthetic_dataset_options& encoding);

/// Checks the options; throws std::invalid_argument naming the bad one.
void check_synthetic_dataset_options(const synthetic_dataset_options& options);

}  // namespace multigrid::reference
