// Clip loading speed at the multigrid shapes, the same six the PyAV baseline measures
// (bench/data/compare_with_pyav.sh runs both on the same files, interleaved).
//
//   clips_per_core/T/r/S      one thread decoding clip after clip (decoder single-threaded)
//   clips_all_cores/T/r/S     the loader's pipeline with one worker per core
//
// Counters per clip: open, seek+decode, convert (swscale: YUV to RGB and scaling in one pass),
// augment (crop, flip into the clip layout), frames decoded. Videos: the folder in
// MULTIGRID_BENCH_VIDEOS, else 24 Kinetics-like videos (340x256, 10 s, 30 fps, H.264 with x264's
// defaults) generated once into the build folder.

#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <thread>

#include "data/clip_pipeline.hpp"
#include "data/synthetic_dataset.hpp"
#include "data/video_preparation.hpp"

extern "C" {
#include <libavutil/log.h>
}

namespace {

using namespace multigrid::reference;
namespace fs = std::filesystem;

struct shape {
  int frames, stride, crop, jitter_min, jitter_max;
};

// (T, r, S, jitter): the shapes of the PySlowFast multigrid schedule, as the baseline lists them,
// and the coarsest short-cycle shape (8 frames at 112: the most clips per second a GPU asks for).
constexpr shape shapes[] = {{32, 2, 224, 256, 320}, {16, 4, 224, 256, 320}, {16, 4, 158, 181, 320},
                            {8, 8, 158, 181, 320},  {32, 2, 112, 128, 320}, {32, 2, 158, 181, 320},
                            {8, 8, 112, 128, 320}};

const std::vector<std::string>& videos() {
  static const std::vector<std::string> list = [] {
    set_ffmpeg_log_level(AV_LOG_ERROR);
    std::string folder;
    if (const char* given = std::getenv("MULTIGRID_BENCH_VIDEOS")) {
      folder = given;
    } else {
      folder = std::string(MULTIGRID_BINARY_DIR) + "/bench-videos/kinetics-like";
      synthetic_dataset_options options;
      options.root = folder;
      options.classes = 4;
      options.train_per_class = 6;
      options.val_per_class = options.test_per_class = 0;
      options.width = 340;
      options.height = 256;
      options.seconds = 10;
      options.jobs = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
      make_synthetic_dataset(options);
    }
    std::vector<std::string> found;
    for (const auto& entry : fs::recursive_directory_iterator(folder)) {
      if (entry.is_regular_file() && is_video_file(entry.path().string()))
        found.push_back(entry.path().string());
    }
    std::sort(found.begin(), found.end());
    if (found.empty()) throw std::runtime_error("no videos in " + folder);
    return found;
  }();
  return list;
}

clip_request request_for(const shape& s) {
  clip_request request;
  request.num_frames = s.frames;
  request.min_sampling_rate = request.max_sampling_rate = s.stride;
  request.crop_size = s.crop;
  request.min_short_side = s.jitter_min;
  request.max_short_side = s.jitter_max;
  return request;
}

void set_breakdown(benchmark::State& state, const decode_timings& timings, double clips) {
  const auto per_clip_ms = [&](double seconds) { return 1e3 * seconds / std::max(clips, 1.0); };
  state.counters["open_ms"] = per_clip_ms(timings.open_seconds);
  state.counters["decode_ms"] = per_clip_ms(timings.seek_decode_seconds);
  state.counters["convert_ms"] = per_clip_ms(timings.conversion.convert_seconds);
  state.counters["augment_ms"] = per_clip_ms(timings.conversion.augment_seconds);
  state.counters["frames_decoded"] =
      static_cast<double>(timings.frames_decoded) / std::max(clips, 1.0);
}

void clips_per_core(benchmark::State& state, shape s) {
  const auto& list = videos();
  const auto request = request_for(s);
  std::vector<std::uint8_t> pixels(request.clip_bytes());
  clip_decoder decoder;
  std::uint64_t n = 0;
  for (auto _ : state) {
    random_stream random(combine_seed({n}));
    const auto& path = list[static_cast<std::size_t>(
        random.integer(0, static_cast<std::int64_t>(list.size()) - 1))];
    decoder.decode(path, request, random, {pixels.data()});
    benchmark::DoNotOptimize(pixels.data());
    ++n;
  }
  state.counters["clips_per_s"] =
      benchmark::Counter(static_cast<double>(n), benchmark::Counter::kIsRate);
  set_breakdown(state, decoder.timings(), static_cast<double>(n));
}

void clips_all_cores(benchmark::State& state, shape s) {
  const auto& list = videos();
  std::vector<video_sample> samples;
  for (const auto& path : list) samples.push_back({path, 0, path});
  const auto dataset = std::make_shared<const video_dataset>(samples, std::vector<std::string>{});
  pipeline_options options;
  options.workers = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  options.prefetch_batches = 4;
  clip_pipeline pipeline(dataset, options);
  const auto request = request_for(s);
  constexpr int batch_clips = 8;
  pipeline.start(
      [&](std::int64_t number) -> std::optional<batch_layout> {
        batch_layout layout;
        layout.number = number;
        layout.clips = batch_clips;
        layout.num_frames = s.frames;
        layout.crop_size = s.crop;
        for (int j = 0; j < batch_clips; ++j) {
          clip_job job;
          job.seed =
              combine_seed({static_cast<std::uint64_t>(number), static_cast<std::uint64_t>(j)});
          random_stream pick(job.seed);
          job.video = pick.integer(0, dataset->size() - 1);
          job.first_clip = j;
          job.request = request;
          layout.jobs.push_back(job);
        }
        return layout;
      },
      0);
  pipeline.next();  // warm-up: the workers have started
  pipeline.reset_statistics();
  std::int64_t clips = 0;
  for (auto _ : state) {
    auto batch = pipeline.next();
    clips += batch->layout.clips;
  }
  const auto statistics = pipeline.statistics();
  state.counters["clips_per_s"] =
      benchmark::Counter(static_cast<double>(clips), benchmark::Counter::kIsRate);
  state.counters["workers"] = options.workers;
  set_breakdown(state, statistics.decoding, static_cast<double>(statistics.decoding.videos));
}

const bool registered = [] {
  for (const auto& s : shapes) {
    const auto name =
        std::to_string(s.frames) + "/" + std::to_string(s.stride) + "/" + std::to_string(s.crop);
    benchmark::RegisterBenchmark(("clips_per_core/" + name).c_str(), clips_per_core, s)
        ->UseRealTime()
        ->Unit(benchmark::kMillisecond);
    benchmark::RegisterBenchmark(("clips_all_cores/" + name).c_str(), clips_all_cores, s)
        ->UseRealTime()
        ->Unit(benchmark::kMillisecond);
  }
  return true;
}();

}  // namespace
