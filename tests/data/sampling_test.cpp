// Temporal and spatial sampling against PySlowFast's arithmetic, and the bounds of every random
// draw.

#include <doctest/doctest.h>

#include <set>

#include "data/clip_request.hpp"
#include "data/random_stream.hpp"
#include "data/spatial_sampling.hpp"
#include "data/temporal_sampling.hpp"

using namespace multigrid::reference;

TEST_CASE("sampled positions are torch.linspace(0, span - 1, T) in float32, truncated") {
  // Reference values printed by PyTorch 1.13: torch.linspace(0, span - 1, T).long().
  CHECK(sampled_positions(64, 8) == std::vector<int>{0, 9, 18, 27, 36, 45, 54, 63});
  CHECK(sampled_positions(64, 32) == std::vector<int>{0,  2,  4,  6,  8,  10, 12, 14, 16, 18, 20,
                                                      22, 24, 26, 28, 30, 32, 34, 36, 38, 40, 42,
                                                      44, 46, 48, 50, 52, 54, 56, 58, 60, 63});
  CHECK(sampled_positions(240, 8) == std::vector<int>{0, 34, 68, 102, 136, 170, 204, 239});
  CHECK(sampled_positions(53.3333333, 32) ==
        std::vector<int>{0,  1,  3,  5,  6,  8,  10, 11, 13, 15, 16, 18, 20, 21, 23, 25,
                         27, 28, 30, 32, 33, 35, 37, 38, 40, 42, 43, 45, 47, 48, 50, 52});
  CHECK(sampled_positions(10, 32) == std::vector<int>{0, 0, 0, 0, 1, 1, 1, 2, 2, 2, 2,
                                                      3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 6,
                                                      6, 6, 6, 7, 7, 7, 8, 8, 8, 9});
  CHECK(sampled_positions(1, 4) == std::vector<int>{0, 0, 0, 0});
}

TEST_CASE("DATA.USE_OFFSET_SAMPLING windows follow get_start_end_idx(..., use_offset=True)") {
  // (start, end) printed by PySlowFast's own get_start_end_idx (slowfast/datasets/decoder.py)
  // for (video_size, clip_size, clip_idx, num_clips_uniform, use_offset=True).
  struct expected_window {
    double frames, span;
    int index, count;
    double start, end;
  };
  const expected_window cases[] = {
      {300, 64, 0, 1, 118, 181},
      {300, 64, 0, 10, 0, 63},
      {300, 64, 9, 10, 234, 297},
      {300, 64, 4, 10, 104, 167},
      {301, 53.3333333, 2, 3, 246, 298.3333333},
      {301, 53.3333333, 0, 1, 123, 175.3333333},
      {20, 64, 0, 1, 0, 63},
      {20, 64, 1, 3, 0, 63},
  };
  for (const auto& c : cases) {
    CAPTURE(c.frames);
    CAPTURE(c.span);
    CAPTURE(c.index);
    CAPTURE(c.count);
    const auto window = offset_clip_window(c.frames, c.span, c.index, c.count);
    CHECK(window.start_index == doctest::Approx(c.start));
    CHECK(window.end_index == doctest::Approx(c.end));
  }
  CHECK_THROWS_AS(offset_clip_window(300, 64, 1, 1), std::invalid_argument);
}

TEST_CASE("clip span and windows follow get_start_end_idx") {
  CHECK(clip_span_frames(32, 2, 30, 30) == doctest::Approx(64));
  CHECK(clip_span_frames(8, 8, 30, 25) == doctest::Approx(64.0 * 25 / 30));
  CHECK(clip_span_frames(16, 4, 30, 60) == doctest::Approx(128));
  CHECK_THROWS_AS(clip_span_frames(0, 2, 30, 30), std::invalid_argument);

  const auto first = uniform_clip_window(300, 64, 0, 10);
  CHECK(first.start_index == 0);
  CHECK(first.end_index == 63);
  // delta * index / count: the last of 10 clips does not reach the end (PySlowFast's choice).
  const auto last = uniform_clip_window(300, 64, 9, 10);
  CHECK(last.start_index == doctest::Approx(236.0 * 9 / 10));
  CHECK(centre_clip_window(300, 64).start_index == doctest::Approx(118));
  // One test view starts at the first frame, as PySlowFast's get_start_end_idx(300, 64, 0, 1).
  CHECK(uniform_clip_window(300, 64, 0, 1).start_index == 0);
  CHECK(random_clip_window(300, 64, 0.5).start_index == doctest::Approx(118));
  CHECK(random_clip_window(300, 64, 0.999999).start_index <= 236);
  // Shorter than the clip: the clip starts at the first frame.
  CHECK(random_clip_window(20, 64, 0.7).start_index == 0);
  CHECK(frame_index_to_ticks(17.3333333, 512) == 8874);

  const auto windowed = windowed_clip_windows(300, 64, 3, 0.25, {0.0, 0.5, 1.0});
  REQUIRE(windowed.size() == 3);
  const double window_start = (300 - 128) * 0.25;
  CHECK(windowed[0].start_index == doctest::Approx(window_start));
  CHECK(windowed[1].start_index == doctest::Approx(window_start + 32));
  CHECK(windowed[2].end_index == doctest::Approx(window_start + 127));
}

TEST_CASE("short-side jitter rounds halves to even and scales like PySlowFast") {
  CHECK(jittered_short_side(256, 320, 0.0, false) == 256);
  CHECK(jittered_short_side(256, 320, 1.0, false) == 320);
  CHECK(jittered_short_side(256, 257, 0.5, false) == 256);  // round(256.5) == 256
  CHECK(jittered_short_side(257, 258, 0.5, false) == 258);  // round(257.5) == 258
  CHECK(jittered_short_side(256, 320, 0.0, true) == 320);   // 1 / (1/320)
  CHECK(jittered_short_side(256, 320, 1.0, true) == 256);
  CHECK_THROWS_AS(jittered_short_side(300, 200, 0.5, false), std::invalid_argument);

  CHECK(scale_short_side({340, 256}, 288) == frame_size{382, 288});  // floor(340/256*288)
  CHECK(scale_short_side({256, 340}, 288) == frame_size{288, 382});
  CHECK(scale_short_side({340, 256}, 256) == frame_size{340, 256});  // already that size
  CHECK(scale_short_side({65, 47}, 112) == frame_size{154, 112});
}

TEST_CASE("random crops never leave the frame and never use the last offset") {
  CHECK(random_crop({382, 288}, 224, 0.0, 0.0).x == 0);
  const auto far = random_crop({382, 288}, 224, 0.99999999, 0.99999999);
  CHECK(far.x == 382 - 224 - 1);  // randint(0, 158) excludes 158
  CHECK(far.y == 288 - 224 - 1);
  const auto exact = random_crop({224, 224}, 224, 0.7, 0.7);
  CHECK(exact.x == 0);
  CHECK(exact.y == 0);

  // Uniform crops: left/centre/right for landscape, top/centre/bottom for portrait.
  CHECK(uniform_crop({341, 256}, 256, 0).x == 0);
  CHECK(uniform_crop({341, 256}, 256, 1).x == 43);  // ceil(85 / 2)
  CHECK(uniform_crop({341, 256}, 256, 2).x == 85);
  CHECK(uniform_crop({256, 341}, 256, 2).y == 85);
  CHECK(uniform_crop({256, 341}, 256, 2).x == 0);
  CHECK_THROWS_AS(uniform_crop({341, 256}, 256, 3), std::invalid_argument);
}

TEST_CASE("the random stream is reproducible and its draws stay in range") {
  random_stream a(42);
  random_stream b(42);
  for (int i = 0; i < 100; ++i) CHECK(a.next() == b.next());
  random_stream draws(7);
  std::set<std::int64_t> seen;
  for (int i = 0; i < 2000; ++i) {
    const auto value = draws.integer(3, 9);
    CHECK(value >= 3);
    CHECK(value <= 9);
    seen.insert(value);
    const double u = draws.uniform();
    CHECK(u >= 0.0);
    CHECK(u < 1.0);
  }
  CHECK(seen.size() == 7);
  const auto order = random_permutation(50, 3);
  CHECK(std::set<std::int64_t>(order.begin(), order.end()).size() == 50);
  CHECK(order == random_permutation(50, 3));
  CHECK(order != random_permutation(50, 4));
  CHECK(combine_seed({1, 2}) != combine_seed({2, 1}));
}

// A 10 s, 30 fps, 340x256 video: Kinetics' usual size and length.
static video_info kinetics_like_video() {
  video_info video;
  video.coded_width = 340;
  video.coded_height = 256;
  video.fps = 30;
  video.frame_count = 300;
  video.duration_ticks = 300 * 512;
  video.time_base_den = 15360;
  return video;
}

TEST_CASE("planned training clips keep every draw inside its bounds") {
  const auto video = kinetics_like_video();
  clip_request request;
  request.num_frames = 8;
  request.min_sampling_rate = 2;
  request.max_sampling_rate = 8;
  request.crop_size = 158;
  request.min_short_side = 181;
  request.max_short_side = 320;
  random_stream random(11);
  std::set<int> strides, sides;
  int flips = 0;
  for (int i = 0; i < 500; ++i) {
    const auto clips = plan_clips(video, request, random);
    REQUIRE(clips.size() == 1);
    const auto& clip = clips[0];
    strides.insert(clip.sampling_rate);
    CHECK(clip.sampling_rate >= 2);
    CHECK(clip.sampling_rate <= 8);
    CHECK(clip.window.start_index >= 0);
    CHECK(clip.window.start_index <= 300 - clip.span);
    CHECK(clip.start_ticks == static_cast<std::int64_t>(clip.window.start_index * 512));
    const int short_side = std::min(clip.geometry.scaled.width, clip.geometry.scaled.height);
    sides.insert(short_side);
    CHECK(short_side >= 181);
    CHECK(short_side <= 320);
    CHECK(clip.geometry.crop.size == 158);
    CHECK(clip.geometry.crop.x >= 0);
    CHECK(clip.geometry.crop.y >= 0);
    CHECK(clip.geometry.crop.x + 158 <= clip.geometry.scaled.width);
    CHECK(clip.geometry.crop.y + 158 <= clip.geometry.scaled.height);
    flips += clip.geometry.flip ? 1 : 0;
  }
  CHECK(strides.size() == 7);
  CHECK(sides.size() > 100);
  CHECK(flips > 180);
  CHECK(flips < 320);

  // Never flipped when flipping is off; the same stream gives the same clip.
  request.random_flip = false;
  random_stream again(5), same(5);
  const auto one = plan_clips(video, request, again);
  const auto two = plan_clips(video, request, same);
  CHECK_FALSE(one[0].geometry.flip);
  CHECK(one[0].start_ticks == two[0].start_ticks);
  CHECK(one[0].geometry.crop.x == two[0].geometry.crop.x);
}

TEST_CASE("test views: three crops of one temporal clip, scaled to the crop") {
  const auto video = kinetics_like_video();
  clip_request request;
  request.num_frames = 32;
  request.min_sampling_rate = request.max_sampling_rate = 2;
  request.temporal = temporal_sampling::uniform;
  request.temporal_index = 4;
  request.temporal_count = 10;
  request.spatial = spatial_sampling::uniform;
  request.spatial_clips = 3;
  request.crop_size = 256;
  request.min_short_side = request.max_short_side = 256;
  random_stream random(0);
  const auto clips = plan_clips(video, request, random);
  REQUIRE(clips.size() == 3);
  for (int s = 0; s < 3; ++s) {
    CHECK(clips[static_cast<std::size_t>(s)].spatial_index == s);
    CHECK(clips[static_cast<std::size_t>(s)].temporal_index == 4);
    CHECK(clips[static_cast<std::size_t>(s)].window.start_index == doctest::Approx(236.0 * 4 / 10));
    CHECK(clips[static_cast<std::size_t>(s)].geometry.scaled == frame_size{340, 256});
  }
  CHECK(clips[0].geometry.crop.x == 0);
  CHECK(clips[1].geometry.crop.x == 42);
  CHECK(clips[2].geometry.crop.x == 84);

  request.temporal_clips = 2;  // several temporal clips need random sampling
  CHECK_THROWS_AS(plan_clips(video, request, random), std::invalid_argument);
}
