#pragma once
// Batch sources for evaluation: deterministic views, every video of this rank's share exactly
// once per view (rank r takes videos r, r + world, ...; shares may differ by one video, and no
// video is repeated to even them out). A video that cannot be decoded leaves its clips marked
// invalid instead of being replaced.
//
//   validation  one view per video: the temporal centre, the centre crop
//   test        TEST.NUM_ENSEMBLE_VIEWS evenly spaced clips x TEST.NUM_SPATIAL_CROPS crops
//               (PySlowFast's 10 x 3: short side scaled to the crop, left/centre/right crops);
//               the crops of one clip share one decode. As in PySlowFast, one clip starts at the
//               video's start, or in its middle with DATA.USE_OFFSET_SAMPLING.

#include <cstdint>
#include <optional>
#include <vector>

#include "data/clip_pipeline.hpp"

namespace multigrid::reference {

struct evaluation_view_options {
  int num_frames = 8;
  int sampling_rate = 8;
  double target_fps = 30;
  int crop_size = 256;
  int short_side = 256;    ///< the short side is scaled to this before cropping
  int temporal_views = 1;  ///< clips per video, placed by `temporal`
  /// centre (validation), uniform or offset (test; see temporal_sampling)
  temporal_sampling temporal = temporal_sampling::uniform;
  int spatial_crops = 1;  ///< 1: the centre crop; up to 3
  int batch_clips = 8;    ///< clips per batch; a clip's crops never straddle two batches
};

/// Validation: one centre view per video at the given shape.
evaluation_view_options validation_views(int num_frames, int sampling_rate, int crop_size,
                                         int short_side, int batch_clips, double target_fps = 30);

/// PySlowFast's test views: `temporal_views` x `spatial_crops` at `crop_size`; with one crop the
/// short side is scaled to `single_crop_short_side` (DATA.TRAIN_JITTER_SCALES[0]) instead.
/// `offset_sampling`: DATA.USE_OFFSET_SAMPLING.
evaluation_view_options test_views(int num_frames, int sampling_rate, int crop_size,
                                   int temporal_views, int spatial_crops,
                                   int single_crop_short_side, int batch_clips,
                                   double target_fps = 30, bool offset_sampling = false);

class evaluation_batches {
 public:
  evaluation_batches(std::int64_t dataset_size, int rank, int world,
                     evaluation_view_options options);

  std::optional<batch_layout> operator()(std::int64_t number) const;
  std::int64_t batches() const noexcept { return batches_; }
  /// The videos this rank evaluates, in order.
  const std::vector<std::int64_t>& videos() const noexcept { return *videos_; }
  const evaluation_view_options& options() const noexcept { return options_; }

 private:
  evaluation_view_options options_;
  std::shared_ptr<const std::vector<std::int64_t>> videos_;
  std::int64_t jobs_ = 0;
  std::int64_t jobs_per_batch_ = 1;
  std::int64_t batches_ = 0;
};

}  // namespace multigrid::reference
