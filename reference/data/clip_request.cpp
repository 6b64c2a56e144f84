#include "data/clip_request.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

namespace multigrid::reference {

void check_clip_request(const clip_request& request) {
  const auto fail = [](const std::string& message) {
    throw std::invalid_argument("clip request: " + message);
  };
  if (request.num_frames <= 0) fail("num_frames must be positive");
  if (request.min_sampling_rate <= 0 || request.max_sampling_rate < request.min_sampling_rate) {
    fail("sampling rate range [" + std::to_string(request.min_sampling_rate) + ", " +
         std::to_string(request.max_sampling_rate) + "] is empty or not positive");
  }
  if (!(request.target_fps > 0)) fail("target_fps must be positive");
  if (request.crop_size <= 0) fail("crop_size must be positive");
  if (request.min_short_side <= 0 || request.max_short_side < request.min_short_side) {
    fail("short side range [" + std::to_string(request.min_short_side) + ", " +
         std::to_string(request.max_short_side) + "] is empty or not positive");
  }
  if (request.temporal_clips <= 0 || request.spatial_clips <= 0)
    fail("clip counts must be positive");
  if (request.temporal_clips > 1 && request.temporal != temporal_sampling::random) {
    fail("several temporal clips per video need random temporal sampling");
  }
  if ((request.temporal == temporal_sampling::uniform ||
       request.temporal == temporal_sampling::offset) &&
      (request.temporal_count <= 0 || request.temporal_index < 0 ||
       request.temporal_index >= request.temporal_count)) {
    fail("temporal clip " + std::to_string(request.temporal_index) + " of " +
         std::to_string(request.temporal_count));
  }
  if (request.spatial == spatial_sampling::uniform && request.spatial_clips > 3) {
    fail("uniform spatial sampling has at most 3 crops (left, centre, right)");
  }
}

std::vector<sampled_clip> plan_clips(const video_info& video, const clip_request& request,
                                     random_stream& random) {
  check_clip_request(request);
  // The draws happen in a fixed order so that a clip's random stream fully determines it.
  const int sampling_rate =
      static_cast<int>(random.integer(request.min_sampling_rate, request.max_sampling_rate));
  const double span = std::max(
      1.0, clip_span_frames(request.num_frames, sampling_rate, request.target_fps, video.fps));
  const auto frames = static_cast<double>(video.frame_count);

  std::vector<clip_window> windows;
  switch (request.temporal) {
    case temporal_sampling::random:
      if (request.temporal_clips == 1) {
        windows.push_back(random_clip_window(frames, span, random.uniform()));
      } else {
        const double window_draw = random.uniform();
        std::vector<double> clip_draws;
        for (int k = 0; k < request.temporal_clips; ++k) clip_draws.push_back(random.uniform());
        windows =
            windowed_clip_windows(frames, span, request.temporal_clips, window_draw, clip_draws);
      }
      break;
    case temporal_sampling::uniform:
      windows.push_back(
          uniform_clip_window(frames, span, request.temporal_index, request.temporal_count));
      break;
    case temporal_sampling::offset:
      windows.push_back(
          offset_clip_window(frames, span, request.temporal_index, request.temporal_count));
      break;
    case temporal_sampling::centre:
      windows.push_back(centre_clip_window(frames, span));
      break;
  }

  const bool by_index = !video.has_timestamps();
  const double ticks_per_frame =
      by_index ? 1.0
               : static_cast<double>(video.duration_ticks) / static_cast<double>(video.frame_count);
  const auto positions = sampled_positions(span, request.num_frames);
  const frame_size display = video.display_size();

  std::vector<sampled_clip> clips;
  for (std::size_t k = 0; k < windows.size(); ++k) {
    for (int s = 0; s < request.spatial_clips; ++s) {
      sampled_clip clip;
      clip.sampling_rate = sampling_rate;
      clip.span = span;
      clip.window = windows[k];
      clip.by_frame_index = by_index;
      if (by_index) {
        clip.start_ticks = static_cast<std::int64_t>(std::ceil(windows[k].start_index));
        clip.end_ticks = static_cast<std::int64_t>(std::floor(windows[k].end_index));
      } else {
        clip.start_ticks = frame_index_to_ticks(windows[k].start_index, ticks_per_frame);
        clip.end_ticks = frame_index_to_ticks(windows[k].end_index, ticks_per_frame);
      }
      clip.positions = positions;
      clip.temporal_index = request.temporal == temporal_sampling::random ? static_cast<int>(k)
                                                                          : request.temporal_index;

      int short_side = 0;
      if (request.spatial == spatial_sampling::random) {
        short_side = jittered_short_side(request.min_short_side, request.max_short_side,
                                         random.uniform(), request.inverse_uniform_scale);
      } else {
        short_side = request.min_short_side;
      }
      // A crop larger than the scaled frame would come out smaller than asked for.
      short_side = std::max(short_side, request.crop_size);
      clip.geometry.scaled = scale_short_side(display, short_side);
      if (request.spatial == spatial_sampling::random) {
        const double ux = random.uniform();
        const double uy = random.uniform();
        clip.geometry.crop = random_crop(clip.geometry.scaled, request.crop_size, ux, uy);
        clip.geometry.flip = request.random_flip && random.bernoulli(0.5);
        clip.spatial_index = s;
      } else {
        clip.spatial_index = request.spatial_clips == 1 ? 1 : s;
        clip.geometry.crop =
            uniform_crop(clip.geometry.scaled, request.crop_size, clip.spatial_index);
      }
      clips.push_back(std::move(clip));
    }
  }
  return clips;
}

}  // namespace multigrid::reference
