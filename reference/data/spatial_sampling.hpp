#pragma once
// Where a clip's pixels come from, with PySlowFast's arithmetic (slowfast/datasets/transform.py):
// the short side is scaled to a size drawn from the jitter range (training) or to the test size,
// then a square is cropped at random (training) or at the left/centre/right (top/centre/bottom
// for portrait frames) at test time, and training clips are flipped with probability 1/2.
// These functions only compute sizes and offsets; the frame converter applies them in one pass.

namespace multigrid::reference {

struct frame_size {
  int width = 0;
  int height = 0;

  friend bool operator==(const frame_size& a, const frame_size& b) noexcept {
    return a.width == b.width && a.height == b.height;
  }
  friend bool operator!=(const frame_size& a, const frame_size& b) noexcept { return !(a == b); }
};

/// The jittered short side: int(round(uniform(min, max))), Python's round (halves to even). With
/// `inverse_uniform` (DATA.INV_UNIFORM_SAMPLE) the draw is uniform in [1/max, 1/min] and inverted.
int jittered_short_side(int min_size, int max_size, double uniform01, bool inverse_uniform);

/// The frame after scaling its short side to `short_side`, the long side floor(long/short * size);
/// unchanged when the short side already has that size (PySlowFast returns it as is).
frame_size scale_short_side(frame_size frame, int short_side);

struct crop_box {
  int x = 0;
  int y = 0;
  int size = 0;
};

/// PySlowFast's random_crop: offsets drawn with numpy's randint(0, extent - size), which excludes
/// its upper end, so the last offset is never used; 0 when the frame is not larger than the crop.
/// `uniform_x` and `uniform_y` are draws in [0, 1).
crop_box random_crop(frame_size frame, int size, double uniform_x, double uniform_y);

/// PySlowFast's uniform_crop: index 0, 1, 2 is left, centre, right for landscape frames and top,
/// centre, bottom otherwise; the centre is at ceil((extent - size) / 2).
crop_box uniform_crop(frame_size frame, int size, int spatial_index);

}  // namespace multigrid::reference
