// Decoded clips against the frames the generator wrote: the right frames, in order, at the right
// stride, for several codecs, frame rates, sizes, rotations, crops and flips.

#include <doctest/doctest.h>

#include <cmath>
#include <cstdlib>
#include <fstream>
#include <iterator>

#include "data/clip_decoder.hpp"
#include "data/frame_converter.hpp"
#include "data/video_reader.hpp"
#include "support/skip_test_case.hpp"
#include "test_videos.hpp"

using namespace multigrid::reference;
using namespace multigrid::reference::testing;

namespace {

/// Frames of a constant-rate video that PySlowFast keeps for a clip: those at or after the
/// start, through the first one after the end; the T sampled positions index them, clamped.
std::vector<int> expected_frames(const sampled_clip& clip, int frames, double ticks_per_frame) {
  int first = 0;
  while (first < frames && first * ticks_per_frame < clip.start_ticks) ++first;
  int last = first;
  while (last + 1 < frames && last * ticks_per_frame <= clip.end_ticks) ++last;
  std::vector<int> result;
  for (const int position : clip.positions) result.push_back(std::min(first + position, last));
  return result;
}

std::vector<int> decoded_frames(const std::vector<std::uint8_t>& clip, int num_frames, int size) {
  std::vector<int> result;
  for (int t = 0; t < num_frames; ++t)
    result.push_back(decoded_frame_index(clip.data(), num_frames, size, t));
  return result;
}

struct decoded {
  std::vector<sampled_clip> clips;
  std::vector<std::vector<std::uint8_t>> pixels;
};

decoded decode(const std::string& path, const clip_request& request, std::uint64_t seed,
               clip_decoder* shared = nullptr) {
  clip_decoder local;
  clip_decoder& decoder = shared != nullptr ? *shared : local;
  decoded result;
  result.pixels.assign(static_cast<std::size_t>(request.clips()),
                       std::vector<std::uint8_t>(request.clip_bytes()));
  std::vector<std::uint8_t*> outputs;
  for (auto& p : result.pixels) outputs.push_back(p.data());
  random_stream random(seed);
  result.clips = decoder.decode(path, request, random, outputs);
  return result;
}

clip_request test_request(int frames, int stride, int index, int count, int crop) {
  clip_request request;
  request.num_frames = frames;
  request.min_sampling_rate = request.max_sampling_rate = stride;
  request.temporal = temporal_sampling::uniform;
  request.temporal_index = index;
  request.temporal_count = count;
  request.spatial = spatial_sampling::uniform;
  request.crop_size = crop;
  request.min_short_side = request.max_short_side = crop;
  return request;
}

}  // namespace

TEST_CASE("test clips are the frames PySlowFast picks (known answers, H.264 with B-frames)") {
  temporary_folder folder;
  const auto path = folder.file("v.mp4");
  write_frame_code_video(path, {});
  {
    video_reader reader(path);
    CHECK(reader.info().frame_count == 60);
    CHECK(reader.info().fps == doctest::Approx(30));
    CHECK(reader.info().display_size() == frame_size{64, 48});
  }
  // 60 frames, 4 frames at stride 2: span 8, delta 52; starts 0, 17.33, 34.67 -> first frames
  // 0, 18, 35; positions linspace(0, 7, 4) = 0, 2, 4, 7.
  const std::vector<std::vector<int>> answers = {{0, 2, 4, 7}, {18, 20, 22, 25}, {35, 37, 39, 42}};
  for (int i = 0; i < 3; ++i) {
    const auto result = decode(path, test_request(4, 2, i, 3, 48), 0);
    CHECK(decoded_frames(result.pixels[0], 4, 48) == answers[static_cast<std::size_t>(i)]);
  }
}

TEST_CASE("random training clips decode the frames their sampling names") {
  temporary_folder folder;
  const auto path = folder.file("v.mp4");
  write_frame_code_video(path, {90, 30, 64, 48, "auto", 0, 0, false});
  clip_request request;
  request.num_frames = 8;
  request.min_sampling_rate = 1;
  request.max_sampling_rate = 4;
  request.crop_size = 32;
  request.min_short_side = 40;
  request.max_short_side = 64;
  clip_decoder decoder;  // one decoder for all clips, as a worker has
  for (std::uint64_t seed = 0; seed < 12; ++seed) {
    const auto result = decode(path, request, seed, &decoder);
    const auto& clip = result.clips[0];
    CAPTURE(seed);
    CHECK(decoded_frames(result.pixels[0], 8, 32) == expected_frames(clip, 90, 512));
  }
}

TEST_CASE("a video shorter than the clip repeats its last frame") {
  temporary_folder folder;
  const auto path = folder.file("short.mp4");
  write_frame_code_video(path, {20, 30, 64, 48, "auto", 0, 0, false});
  const auto result = decode(path, test_request(8, 8, 0, 1, 48), 0);
  CHECK(decoded_frames(result.pixels[0], 8, 48) == std::vector<int>{0, 9, 18, 19, 19, 19, 19, 19});
}

TEST_CASE("other frame rates: 25 fps clips span the same time as at 30") {
  temporary_folder folder;
  const auto path = folder.file("v25.mp4");
  write_frame_code_video(path, {75, 25, 64, 48, "auto", 0, 0, false});
  const auto result = decode(path, test_request(8, 2, 1, 2, 48), 0);
  const auto& clip = result.clips[0];
  CHECK(clip.span == doctest::Approx(8 * 2 * 25.0 / 30));
  video_reader reader(path);
  const double ticks_per_frame =
      static_cast<double>(reader.info().duration_ticks) / reader.info().frame_count;
  CHECK(decoded_frames(result.pixels[0], 8, 48) == expected_frames(clip, 75, ticks_per_frame));
}

TEST_CASE("MPEG-4, HEVC and VP9 decode the same frames, VP9 at an odd size") {
  struct variant {
    std::string codec;
    std::string file;
    int width, height;
  };
  const std::vector<variant> variants = {
      {"mpeg4", "v.avi", 64, 48}, {"libx265", "v.mkv", 64, 48}, {"libvpx-vp9", "v.webm", 65, 47}};
  for (const auto& v : variants) {
    if (!has_video_encoder(v.codec)) {
      MESSAGE("no " << v.codec << " encoder in this FFmpeg build: skipped");
      continue;
    }
    CAPTURE(v.codec);
    temporary_folder folder;
    const auto path = folder.file(v.file);
    write_frame_code_video(path, {60, 30, v.width, v.height, v.codec, 12, 0, false});
    video_reader reader(path);
    CHECK(reader.info().display_size() == frame_size{v.width, v.height});
    const double ticks_per_frame =
        reader.info().has_timestamps()
            ? static_cast<double>(reader.info().duration_ticks) / reader.info().frame_count
            : 1;
    for (int i = 0; i < 3; ++i) {
      const auto result = decode(path, test_request(8, 2, i, 3, 40), 0);
      CHECK(decoded_frames(result.pixels[0], 8, 40) ==
            expected_frames(result.clips[0], static_cast<int>(reader.info().frame_count),
                            ticks_per_frame));
    }
  }
}

TEST_CASE("rotation metadata turns the picture upright, and flips mirror it") {
  temporary_folder folder;
  const auto path = folder.file("rotated.mp4");
  // Stored 64x48 with a dark band at the top and a light band at the left; displayed after a
  // clockwise quarter turn: 48x64, the dark band on the right, the light band at the top.
  write_frame_code_video(path, {30, 30, 64, 48, "auto", 0, 90, false});
  video_reader reader(path);
  REQUIRE(reader.info().rotation == 90);
  CHECK(reader.info().display_size() == frame_size{48, 64});

  const std::size_t plane = 48 * 48;
  const auto at = [&](const std::vector<std::uint8_t>& p, int c, int x, int y) {
    return static_cast<int>(
        p[c * plane + static_cast<std::size_t>(y) * 48 + static_cast<std::size_t>(x)]);
  };
  const auto brightness = [&](const std::vector<std::uint8_t>& p, int x, int y) {
    return at(p, 0, x, y) + at(p, 1, x, y) + at(p, 2, x, y);
  };
  // Frame 20 (clip 2 of 3 of one frame): colour (232, 88, 16). Crop 0 of a portrait frame is the
  // top one.
  auto request = test_request(1, 1, 2, 3, 48);
  request.spatial_clips = 3;
  const auto result = decode(path, request, 0);
  const auto& top = result.pixels[0];
  CHECK(decoded_frame_index(top.data(), 1, 48, 0) == 20);
  CHECK(brightness(top, 46, 30) < brightness(top, 20, 30) - 150);  // dark band on the right
  CHECK(at(top, 1, 20, 2) > 200);                                  // light band at the top
  CHECK(at(top, 1, 20, 30) < 150);

  // Random spatial sampling with flips: a flipped clip has the dark band on the left.
  clip_request random_request;
  random_request.num_frames = 1;
  random_request.min_sampling_rate = random_request.max_sampling_rate = 1;
  random_request.crop_size = 48;
  random_request.min_short_side = random_request.max_short_side = 48;
  int flipped = 0;
  for (std::uint64_t seed = 0; seed < 8; ++seed) {
    const auto clip = decode(path, random_request, seed);
    const auto& p = clip.pixels[0];
    const bool dark_left = brightness(p, 1, 40) < brightness(p, 46, 40);
    CHECK(dark_left == clip.clips[0].geometry.flip);
    flipped += dark_left ? 1 : 0;
  }
  CHECK(flipped > 0);
  CHECK(flipped < 8);
}

TEST_CASE("several clips from one decoded window each get their own frames") {
  temporary_folder folder;
  const auto path = folder.file("v.mp4");
  write_frame_code_video(path, {120, 30, 64, 48, "auto", 0, 0, false});
  clip_request request;
  request.num_frames = 4;
  request.min_sampling_rate = request.max_sampling_rate = 2;
  request.crop_size = 32;
  request.min_short_side = 40;
  request.max_short_side = 56;
  request.temporal_clips = 3;
  request.spatial_clips = 2;
  clip_decoder decoder;
  const auto result = decode(path, request, 3, &decoder);
  REQUIRE(result.clips.size() == 6);
  for (std::size_t c = 0; c < 6; ++c) {
    CAPTURE(c);
    CHECK(result.clips[c].temporal_index == static_cast<int>(c / 2));
    CHECK(decoded_frames(result.pixels[c], 4, 32) == expected_frames(result.clips[c], 120, 512));
  }
  // All six come from one seek and one pass: at most the window plus the keyframe lead-in.
  CHECK(decoder.timings().videos == 1);
  CHECK(decoder.timings().conversion.frames_converted <= 6 * 4);
}

TEST_CASE("memcheck: decoding allocates and frees without leaks" *
          doctest::test_suite("memcheck")) {
  // Run under valgrind by CTest (label memcheck); on its own it is a quick decode.
  temporary_folder folder;
  const auto path = folder.file("v.mp4");
  write_frame_code_video(path, {30, 30, 32, 24, "auto", 0, 0, false});
  clip_request request;
  request.num_frames = 4;
  request.min_sampling_rate = 1;
  request.max_sampling_rate = 3;
  request.crop_size = 16;
  request.min_short_side = 20;
  request.max_short_side = 24;
  clip_decoder decoder;
  for (std::uint64_t seed = 0; seed < 3; ++seed) {
    const auto result = decode(path, request, seed, &decoder);
    CHECK(decoded_frames(result.pixels[0], 4, 16) == expected_frames(result.clips[0], 30, 512));
  }
  CHECK_THROWS_AS(decode(folder.file("missing.mp4"), request, 0, &decoder), video_error);
}

TEST_CASE("rotation agrees with the ffmpeg tool's own autorotation") {
  if (std::system("ffmpeg -version > /dev/null 2>&1") != 0) {
    multigrid::testing::skip_test_case("no ffmpeg tool");
    return;
  }
  temporary_folder folder;
  for (const int rotation : {90, 180, 270}) {
    CAPTURE(rotation);
    const auto path = folder.file("r" + std::to_string(rotation) + ".mp4");
    const auto raw = folder.file("r" + std::to_string(rotation) + ".rgb");
    write_frame_code_video(path, {30, 30, 64, 48, "auto", 0, rotation, false});
    const auto command =
        "ffmpeg -v error -y -i " + path + " -frames:v 1 -f rawvideo -pix_fmt rgb24 " + raw;
    REQUIRE(std::system(command.c_str()) == 0);
    video_reader reader(path);
    const auto display = reader.info().display_size();
    std::ifstream in(raw, std::ios::binary);
    const std::vector<char> reference((std::istreambuf_iterator<char>(in)),
                                      std::istreambuf_iterator<char>());
    REQUIRE(reference.size() == static_cast<std::size_t>(display.width * display.height * 3));

    // Our first frame at the display size, uncropped along the short side.
    auto request = test_request(1, 1, 0, 1, std::min(display.width, display.height));
    request.spatial_clips = 3;
    const auto result = decode(path, request, 0);
    const int size = request.crop_size;
    const auto& crop = result.clips[0].geometry.crop;
    int mismatches = 0;
    for (int y = 0; y < size; ++y) {
      for (int x = 0; x < size; ++x) {
        const auto ours = result.pixels[0][static_cast<std::size_t>(y) * size + x];
        const auto theirs = static_cast<std::uint8_t>(
            reference[(static_cast<std::size_t>(y + crop.y) * display.width + (x + crop.x)) * 3]);
        if (std::abs(int(ours) - int(theirs)) > 24) ++mismatches;
      }
    }
    CHECK(mismatches < size);  // only pixels at the bands' edges may differ (chroma rounding)
  }
}

TEST_CASE("a raw stream without timestamps or duration is sampled by frame index") {
  if (std::system("ffmpeg -version > /dev/null 2>&1") != 0) {
    multigrid::testing::skip_test_case("no ffmpeg tool to extract a raw stream");
    return;
  }
  temporary_folder folder;
  const auto path = folder.file("v.mp4");
  write_frame_code_video(path, {60, 30, 64, 48, "auto", 0, 0, false});
  const auto raw = folder.file("v.h264");
  const auto command =
      "ffmpeg -v error -y -i " + path + " -c copy -bsf:v h264_mp4toannexb -f h264 " + raw;
  REQUIRE(std::system(command.c_str()) == 0);
  // 60 frames found by decoding; 4 frames at stride 2 from clip 1 of 3: start 17.33 -> frame 18.
  const auto result = decode(raw, test_request(4, 2, 1, 3, 48), 0);
  CHECK(result.clips[0].by_frame_index);
  CHECK(decoded_frames(result.pixels[0], 4, 48) == std::vector<int>{18, 20, 22, 25});
}

TEST_CASE("scaling only the part under the crop matches scaling the whole frame") {
  // A smooth, non-uniform picture: every pixel differs from its neighbours.
  auto frame = ffmpeg::make_frame();
  frame->format = AV_PIX_FMT_YUV420P;
  frame->width = 340;
  frame->height = 256;
  REQUIRE(av_frame_get_buffer(frame.get(), 0) == 0);
  for (int y = 0; y < 256; ++y) {
    for (int x = 0; x < 340; ++x) {
      frame->data[0][y * frame->linesize[0] + x] =
          static_cast<std::uint8_t>(128 + 90 * std::sin(x / 9.0) * std::cos(y / 13.0));
    }
  }
  for (int y = 0; y < 128; ++y) {
    for (int x = 0; x < 170; ++x) {
      frame->data[1][y * frame->linesize[1] + x] = static_cast<std::uint8_t>(100 + x / 3);
      frame->data[2][y * frame->linesize[2] + x] = static_cast<std::uint8_t>(90 + y / 2);
    }
  }
  const frame_size scaled{424, 320};
  // The reference: the whole frame scaled, then cropped.
  ffmpeg::scaler full(sws_getContext(340, 256, AV_PIX_FMT_YUV420P, scaled.width, scaled.height,
                                     AV_PIX_FMT_GBRP, SWS_BILINEAR, nullptr, nullptr, nullptr));
  std::vector<std::uint8_t> reference(3 * 424 * 320 + 64);
  std::uint8_t* planes[4] = {reference.data() + 424 * 320, reference.data() + 2 * 424 * 320,
                             reference.data(), nullptr};  // G, B, R
  int strides[4] = {424, 424, 424, 0};
  sws_scale(full.get(), frame->data, frame->linesize, 0, 256, planes, strides);

  frame_converter converter;
  conversion_timings timings;
  for (const crop_box crop : {crop_box{0, 0, 112}, crop_box{150, 100, 112}, crop_box{311, 207, 112},
                              crop_box{40, 90, 158}}) {
    CAPTURE(crop.x);
    CAPTURE(crop.y);
    const int s = crop.size;
    std::vector<std::uint8_t> out(3 * static_cast<std::size_t>(s) * s);
    converter.convert(*frame, 1, 0, {scaled, crop, false}, out.data(), out.data() + s * s,
                      out.data() + 2 * s * s, timings);
    double total = 0;
    for (int c = 0; c < 3; ++c) {
      for (int y = 0; y < s; ++y) {
        for (int x = 0; x < s; ++x) {
          const int ours =
              out[static_cast<std::size_t>(c) * s * s + static_cast<std::size_t>(y) * s + x];
          const int theirs = reference[static_cast<std::size_t>(c) * 424 * 320 +
                                       static_cast<std::size_t>(crop.y + y) * 424 + crop.x + x];
          total += std::abs(ours - theirs);
        }
      }
    }
    // Measured: 0.4 to 1.0 levels on average (a sub-pixel shift of a picture with steep gradients).
    CHECK(total / (3.0 * s * s) < 2.0);
  }
}

TEST_CASE("an unscaled test crop has the colours of PyAV's to_rgb(), as PySlowFast decodes them") {
  // PyAV (python3-av) is the decoder PySlowFast reads Kinetics with; without it there is nothing
  // to compare against.
  if (std::system("/usr/bin/python3 -c 'import av, numpy' > /dev/null 2>&1") != 0) {
    multigrid::testing::skip_test_case(
        "/usr/bin/python3 with PyAV and NumPy (Debian's python3-av) is missing");
    return;
  }
  temporary_folder folder;
  const auto path = folder.file("colours.mp4");
  set_ffmpeg_log_level(AV_LOG_FATAL);
  // Shapes of random colours on a noisy background of another colour: every chroma edge counts.
  const synthetic_scene scene(scene_content::motion, motion_classes().front(), 320, 240, 30, 5);
  write_synthetic_video(path, scene, 320, 240, 30, 8, {});

  // Test view 0 of 1, 8 frames at stride 1: frames 0 to 7. Short side 240 and crop 240: nothing
  // is scaled, and the centre crop starts at x = ceil((320 - 240) / 2) = 40.
  auto request = test_request(8, 1, 0, 1, 240);
  const auto ours = decode(path, request, 0);
  REQUIRE(ours.clips.front().geometry.crop.x == 40);

  const auto theirs_path = folder.file("pyav.rgb");
  const std::string script =
      "import av, numpy, sys\n"
      "c = av.open(sys.argv[1])\n"
      "f = [x.to_rgb().to_ndarray() for x in c.decode(video=0)][:8]\n"
      "numpy.ascontiguousarray(numpy.stack(f)[:, :, 40:280, :]).tofile(sys.argv[2])\n";
  const auto script_path = folder.file("pyav_frames.py");
  std::ofstream(script_path) << script;
  REQUIRE(std::system(
              ("/usr/bin/python3 " + script_path + " " + path + " " + theirs_path).c_str()) == 0);
  std::ifstream file(theirs_path, std::ios::binary);
  const std::vector<std::uint8_t> theirs{std::istreambuf_iterator<char>(file), {}};
  constexpr int frames = 8;
  constexpr int size = 240;
  REQUIRE(theirs.size() == static_cast<std::size_t>(frames) * size * size * 3);  // T x H x W x 3

  double total = 0;
  int largest = 0;
  const auto& pixels = ours.pixels.front();  // 3 x T x S x S
  for (int c = 0; c < 3; ++c) {
    for (std::size_t i = 0; i < static_cast<std::size_t>(frames) * size * size; ++i) {
      const int difference =
          std::abs(int{pixels[static_cast<std::size_t>(c) * frames * size * size + i]} -
                   int{theirs[3 * i + c]});
      total += difference;
      largest = std::max(largest, difference);
    }
  }
  const double mean = total / (3.0 * frames * size * size);
  MESSAGE("mean difference from PyAV: " << mean << " grey levels, largest " << largest);
  // The same swscale call as PyAV's, on the same library: the same bytes.
  CHECK(largest == 0);
}
