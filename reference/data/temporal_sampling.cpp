#include "data/temporal_sampling.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

namespace multigrid::reference {

double clip_span_frames(int num_frames, int sampling_rate, double target_fps, double video_fps) {
  if (num_frames <= 0 || sampling_rate <= 0 || !(target_fps > 0) || !(video_fps > 0)) {
    throw std::invalid_argument("clip_span_frames: frames " + std::to_string(num_frames) +
                                ", stride " + std::to_string(sampling_rate) + ", target fps " +
                                std::to_string(target_fps) + ", video fps " +
                                std::to_string(video_fps) + " must all be positive");
  }
  return static_cast<double>(sampling_rate) * num_frames / target_fps * video_fps;
}

namespace {

clip_window window_at(double start, double span) {
  return {start, start + span - 1};
}

double slack(double video_frames, double span) {
  return std::max(video_frames - span, 0.0);
}

}  // namespace

clip_window random_clip_window(double video_frames, double span, double uniform01) {
  return window_at(slack(video_frames, span) * uniform01, span);
}

clip_window uniform_clip_window(double video_frames, double span, int index, int count) {
  if (count <= 0 || index < 0 || index >= count) {
    throw std::invalid_argument("uniform_clip_window: clip " + std::to_string(index) + " of " +
                                std::to_string(count));
  }
  return window_at(slack(video_frames, span) * index / count, span);
}

clip_window offset_clip_window(double video_frames, double span, int index, int count) {
  if (count <= 0 || index < 0 || index >= count) {
    throw std::invalid_argument("offset_clip_window: clip " + std::to_string(index) + " of " +
                                std::to_string(count));
  }
  const double free = slack(video_frames, span);
  if (count == 1) return window_at(std::floor(free / 2), span);
  return window_at(index * std::floor(free / (count - 1)), span);
}

clip_window centre_clip_window(double video_frames, double span) {
  return window_at(slack(video_frames, span) / 2, span);
}

std::vector<clip_window> windowed_clip_windows(double video_frames, double span, int count,
                                               double window_uniform01,
                                               const std::vector<double>& clip_uniform01) {
  if (count <= 0 || clip_uniform01.size() != static_cast<std::size_t>(count)) {
    throw std::invalid_argument("windowed_clip_windows: one draw per clip is needed");
  }
  const double window = std::min(std::max(video_frames, span), 2 * span);
  const double window_start = slack(video_frames, window) * window_uniform01;
  std::vector<clip_window> clips;
  for (const double u : clip_uniform01) {
    clips.push_back(window_at(window_start + slack(window, span) * u, span));
  }
  return clips;
}

std::vector<int> sampled_positions(double span, int num_frames) {
  if (num_frames <= 0) throw std::invalid_argument("sampled_positions: no frames");
  // torch.linspace fills the first half from the start and the second half from the end, in
  // the tensor's dtype (float32); .long() then truncates toward zero.
  const float start = 0.0f;
  const float end = static_cast<float>(span - 1);
  std::vector<int> positions(static_cast<std::size_t>(num_frames));
  if (num_frames == 1) {
    positions[0] = static_cast<int>(start);
    return positions;
  }
  const float step = (end - start) / static_cast<float>(num_frames - 1);
  const int half = num_frames / 2;
  for (int i = 0; i < num_frames; ++i) {
    const float value = i < half ? start + step * static_cast<float>(i)
                                 : end - step * static_cast<float>(num_frames - i - 1);
    positions[static_cast<std::size_t>(i)] = std::max(0, static_cast<int>(value));
  }
  return positions;
}

std::int64_t frame_index_to_ticks(double index, double ticks_per_frame) {
  return static_cast<std::int64_t>(index * ticks_per_frame);
}

}  // namespace multigrid::reference
