#pragma once
// What to cut from one video, and the random draws that make it concrete. A request says how
// (frames, stride range, scale range, crop, which temporal and spatial sampling); planning a
// request against a video's header draws the stride, the start, the scale, the crop offsets and
// the flip, in a fixed order from the clip's own random stream.

#include <cstdint>
#include <vector>

#include "data/frame_converter.hpp"
#include "data/random_stream.hpp"
#include "data/temporal_sampling.hpp"
#include "data/video_info.hpp"

namespace multigrid::reference {

enum class temporal_sampling {
  random,   ///< training: start uniform over the video
  uniform,  ///< test: clip temporal_index of temporal_count evenly spaced clips
  offset,   ///< test with DATA.USE_OFFSET_SAMPLING: the same, first and last at the video's ends
  centre,   ///< validation: the middle of the video
};

enum class spatial_sampling {
  random,   ///< training: jittered short side, random crop, random flip
  uniform,  ///< evaluation: short side min_short_side, crops 0..spatial_clips-1 (centre if one)
};

struct clip_request {
  int num_frames = 8;
  int min_sampling_rate = 8;  ///< the stride is drawn per video, uniformly in [min, max]
  int max_sampling_rate = 8;
  double target_fps = 30;  ///< DATA.TARGET_FPS: strides count frames at this rate
  temporal_sampling temporal = temporal_sampling::random;
  int temporal_index = 0;
  int temporal_count = 1;
  spatial_sampling spatial = spatial_sampling::random;
  int crop_size = 224;
  int min_short_side = 256;  ///< jitter range of the short side before cropping
  int max_short_side = 320;
  bool random_flip = true;
  bool inverse_uniform_scale = false;  ///< DATA.INV_UNIFORM_SAMPLE
  int temporal_clips = 1;  ///< clips cut from one decoded window (DATA.TRAIN_CROP_NUM_TEMPORAL)
  int spatial_clips = 1;  ///< crops of each temporal clip (DATA.TRAIN_CROP_NUM_SPATIAL, test crops)

  int clips() const noexcept { return temporal_clips * spatial_clips; }
  /// Bytes of one clip: 3 x T x S x S.
  std::size_t clip_bytes() const noexcept {
    return 3 * static_cast<std::size_t>(num_frames) * static_cast<std::size_t>(crop_size) *
           static_cast<std::size_t>(crop_size);
  }
};

/// One clip made concrete for one video.
struct sampled_clip {
  int sampling_rate = 0;
  double span = 0;               ///< frames of the video the clip covers
  clip_window window;            ///< first and last frame index, fractional
  bool by_frame_index = false;   ///< no usable timestamps: times below count decoded frames
  std::int64_t start_ticks = 0;  ///< frames at or after this time make the clip
  std::int64_t end_ticks = 0;    ///< the first frame after this time is the clip's last
  std::vector<int> positions;    ///< for each output frame, its index among those frames
  clip_geometry geometry;
  int temporal_index = 0;
  int spatial_index = 0;
};

/// Plans request.clips() clips, temporal clip k's crops at k * spatial_clips + s. Throws
/// std::invalid_argument for a request that makes no sense (no frames, empty ranges).
std::vector<sampled_clip> plan_clips(const video_info& video, const clip_request& request,
                                     random_stream& random);

/// Checks a request once, before any video is touched; the message names the bad field.
void check_clip_request(const clip_request& request);

}  // namespace multigrid::reference
