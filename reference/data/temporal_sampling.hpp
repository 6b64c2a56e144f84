#pragma once
// Which frames of a video make a clip, with PySlowFast's arithmetic (slowfast/datasets/decoder.py):
// a clip of T frames at stride r spans r*T frames at the target frame rate (30 fps), i.e.
// r*T*fps/30 frames of the video; its start is uniform over the video in training and the
// i-th of K evenly spaced starts at test time. Frames are then taken from those at or after the
// start by linspace(0, span - 1, T), truncated, and clamped to the last frame available, so a
// video shorter than the clip repeats its last frame.

#include <cstdint>
#include <vector>

namespace multigrid::reference {

/// The span of a clip in frames of the video: sampling_rate * num_frames / target_fps * fps.
double clip_span_frames(int num_frames, int sampling_rate, double target_fps, double video_fps);

/// First and last frame index of a clip, fractional as in PySlowFast's get_start_end_idx.
struct clip_window {
  double start_index = 0;
  double end_index = 0;
};

/// Training: the start is uniform in [0, max(frames - span, 0)]; `uniform01` is the draw.
clip_window random_clip_window(double video_frames, double span, double uniform01);

/// Test: the start of clip `index` of `count` is max(frames - span, 0) * index / count, so one
/// clip starts at the video's first frame.
clip_window uniform_clip_window(double video_frames, double span, int index, int count);

/// Test with DATA.USE_OFFSET_SAMPLING: clip `index` of `count` starts at
/// index * floor(slack / (count - 1)), so the first starts at the video's start and the last
/// (nearly) ends at its end; one clip starts at floor(slack / 2). slack = max(frames - span, 0).
clip_window offset_clip_window(double video_frames, double span, int index, int count);

/// Validation: the clip in the middle of the video.
clip_window centre_clip_window(double video_frames, double span);

/// Several clips that share one decoded window (DATA.TRAIN_CROP_NUM_TEMPORAL): the window spans
/// twice the clip (or the whole video if shorter) and starts uniformly; each clip starts
/// uniformly inside it. Decoding the window once costs little more than one clip, and much less
/// than `count` clips when the keyframe interval is long.
std::vector<clip_window> windowed_clip_windows(double video_frames, double span, int count,
                                               double window_uniform01,
                                               const std::vector<double>& clip_uniform01);

/// For each of the T output frames, its position among the frames at or after the clip's start:
/// torch.linspace(0, span - 1, T) computed in float32 as PyTorch does, then truncated.
std::vector<int> sampled_positions(double span, int num_frames);

/// PySlowFast's conversion of a frame index to a timestamp: int(index * duration / frames).
std::int64_t frame_index_to_ticks(double index, double ticks_per_frame);

}  // namespace multigrid::reference
