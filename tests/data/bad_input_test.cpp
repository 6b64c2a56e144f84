// Every kind of bad input: each is reported once with its path and reason, counted, and replaced;
// too many of them stop the loader with an error naming examples; nothing crashes or hangs.

#include <doctest/doctest.h>

#include <cstdlib>
#include <fstream>
#include <map>
#include <mutex>
#include <set>

#include "data/clip_decoder.hpp"
#include "data/clip_pipeline.hpp"
#include "data/dataset_error.hpp"
#include "test_videos.hpp"

using namespace multigrid::reference;
using namespace multigrid::reference::testing;

namespace {

std::vector<char> read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void write_bytes(const std::string& path, const std::vector<char>& bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

clip_request small_request() {
  clip_request request;
  request.num_frames = 4;
  request.min_sampling_rate = 1;
  request.max_sampling_rate = 2;
  request.crop_size = 24;
  request.min_short_side = 28;
  request.max_short_side = 36;
  return request;
}

/// The reason decoding `path` fails, or "" when it does not.
std::string failure_of(const std::string& path, std::uint64_t seed = 0) {
  clip_decoder decoder;
  const auto request = small_request();
  std::vector<std::uint8_t> pixels(request.clip_bytes());
  random_stream random(seed);
  try {
    decoder.decode(path, request, random, {pixels.data()});
  } catch (const video_error& error) {
    CHECK(error.path() == path);
    return error.reason();
  }
  return {};
}

/// Broken files of every kind next to `good` (a valid video), by kind.
std::map<std::string, std::string> write_broken_files(const temporary_folder& folder,
                                                      const std::string& good) {
  std::map<std::string, std::string> files;
  files["missing"] = folder.file("missing.mp4");
  files["empty"] = folder.file("empty.mp4");
  write_bytes(files["empty"], {});
  files["garbage"] = folder.file("garbage.mp4");
  std::vector<char> noise(20000);
  random_stream random(9);
  for (auto& byte : noise) byte = static_cast<char>(random.integer(0, 255));
  write_bytes(files["garbage"], noise);
  // Truncated: the first half of an MP4 whose index is at the end; the index never arrives.
  const auto bytes = read_bytes(good);
  files["truncated"] = folder.file("truncated.mp4");
  write_bytes(files["truncated"],
              std::vector<char>(bytes.begin(), bytes.begin() + bytes.size() / 2));
  // Undecodable: a valid container (index first) whose coded pictures are overwritten.
  const auto faststart = folder.file("faststart.mp4");
  write_frame_code_video(faststart, {30, 30, 64, 48, "auto", 0, 0, true});
  auto damaged = read_bytes(faststart);
  const std::string mdat = "mdat";
  const auto at = std::search(damaged.begin(), damaged.end(), mdat.begin(), mdat.end());
  REQUIRE(at != damaged.end());
  for (auto it = at + 4; it != damaged.end(); ++it) *it = static_cast<char>(random.integer(0, 255));
  files["undecodable"] = folder.file("undecodable.mp4");
  write_bytes(files["undecodable"], damaged);
  // No video stream: audio only, made with the ffmpeg tool when it is installed.
  const auto audio = folder.file("audio.m4a");
  const auto command =
      "ffmpeg -v error -y -f lavfi -i sine=duration=1 -c:a aac " + audio + " > /dev/null 2>&1";
  if (std::system(command.c_str()) == 0) files["audio only"] = audio;
  return files;
}

}  // namespace

TEST_CASE("each kind of broken file fails with its path and a clear reason") {
  temporary_folder folder;
  const auto good = folder.file("good.mp4");
  write_frame_code_video(good, {});
  CHECK(failure_of(good).empty());
  const auto files = write_broken_files(folder, good);
  CHECK(failure_of(files.at("missing")) == "file does not exist");
  CHECK(failure_of(files.at("empty")) == "empty file (0 bytes)");
  CHECK(failure_of(files.at("garbage")).find("not a readable video file") == 0);
  CHECK(failure_of(files.at("truncated")).find("not a readable video file") == 0);
  CHECK(failure_of(folder.path().string()) == "is a directory, not a video file");
  const auto undecodable = failure_of(files.at("undecodable"));
  CAPTURE(undecodable);
  CHECK_FALSE(undecodable.empty());
  if (files.count("audio only")) {
    CHECK(failure_of(files.at("audio only")) == "no video stream");
  } else {
    MESSAGE("no ffmpeg tool to make an audio-only file: that case is skipped");
  }
}

TEST_CASE("a file cut short after its index fails only for clips past the cut") {
  temporary_folder folder;
  const auto good = folder.file("good.mp4");
  write_frame_code_video(good, {90, 30, 64, 48, "auto", 0, 0, true});
  auto bytes = read_bytes(good);
  const auto cut = folder.file("cut.mp4");
  write_bytes(cut, std::vector<char>(bytes.begin(), bytes.begin() + bytes.size() * 2 / 5));
  int failures = 0;
  int successes = 0;
  for (std::uint64_t seed = 0; seed < 16; ++seed) {
    const auto reason = failure_of(cut, seed);
    if (reason.empty()) {
      ++successes;
    } else {
      ++failures;
    }
  }
  CHECK(failures > 0);
  CHECK(successes > 0);
}

TEST_CASE("the pipeline reports each broken file once, counts it and replaces it") {
  temporary_folder folder;
  std::vector<video_sample> samples;
  for (int i = 0; i < 6; ++i) {
    const auto path = folder.file("good" + std::to_string(i) + ".mp4");
    write_frame_code_video(path, {30, 30, 64, 48, "auto", 0, 0, false});
    samples.push_back({path, 1, "list:" + std::to_string(i + 1)});
  }
  const auto files = write_broken_files(folder, samples.front().path);
  std::set<std::int64_t> broken_indices;
  for (const auto& [kind, path] : files) {
    broken_indices.insert(static_cast<std::int64_t>(samples.size()));
    samples.push_back({path, 2, "list:" + std::to_string(samples.size() + 1)});
  }
  const auto dataset = std::make_shared<const video_dataset>(samples, std::vector<std::string>{});

  std::mutex mutex;
  std::map<std::string, int> reports;
  pipeline_options options;
  options.workers = 2;
  options.prefetch_batches = 2;
  options.broken_videos.max_share = 0.9;
  options.broken_videos.report = [&](const std::string& line) {
    std::lock_guard<std::mutex> lock(mutex);
    for (const auto& [kind, path] : files) {
      if (line.find(path + ":") != std::string::npos) ++reports[path];
    }
  };
  clip_pipeline pipeline(dataset, options);
  const auto source = [&](std::int64_t number) -> std::optional<batch_layout> {
    if (number >= 8) return std::nullopt;
    batch_layout layout;
    layout.number = number;
    layout.clips = static_cast<int>(dataset->size());
    layout.num_frames = 4;
    layout.crop_size = 24;
    for (std::int64_t v = 0; v < dataset->size(); ++v) {
      clip_job job;
      job.video = v;
      job.first_clip = static_cast<int>(v);
      job.request = small_request();
      job.seed = combine_seed({static_cast<std::uint64_t>(number), static_cast<std::uint64_t>(v)});
      layout.jobs.push_back(job);
    }
    return layout;
  };
  pipeline.start(source, 0);
  int batches = 0;
  while (auto batch = pipeline.next()) {
    ++batches;
    for (std::size_t slot = 0; slot < batch->video_indices.size(); ++slot) {
      CHECK(broken_indices.count(batch->video_indices[slot]) == 0);  // replaced by a good one
      CHECK(batch->labels[slot] == 1);
      CHECK(batch->valid[slot] == 1);
    }
  }
  CHECK(batches == 8);
  for (const auto& [kind, path] : files) {
    CAPTURE(kind);
    CHECK(reports[path] == 1);
  }
  const auto statistics = pipeline.statistics();
  CHECK(statistics.broken_videos == static_cast<std::int64_t>(files.size()));
  CHECK(statistics.failed_attempts >= statistics.broken_videos);
  const auto broken = pipeline.broken_log().broken();
  REQUIRE(broken.size() == files.size());
  for (const auto& video : broken) CHECK(video.origin.rfind("list:", 0) == 0);
}

TEST_CASE("a wrong path prefix stops the loader with examples instead of training on nothing") {
  std::vector<video_sample> samples;
  for (int i = 0; i < 40; ++i) {
    samples.push_back({"/nonexistent/prefix/video" + std::to_string(i) + ".mp4", 0,
                       "train.csv:" + std::to_string(i + 1)});
  }
  const auto dataset = std::make_shared<const video_dataset>(samples, std::vector<std::string>{});
  pipeline_options options;
  options.workers = 2;
  options.broken_videos.report = [](const std::string&) {};
  clip_pipeline pipeline(dataset, options);
  pipeline.start(
      [&](std::int64_t number) -> std::optional<batch_layout> {
        batch_layout layout;
        layout.number = number;
        layout.clips = 4;
        layout.num_frames = 4;
        layout.crop_size = 24;
        for (int j = 0; j < 4; ++j) {
          clip_job job;
          job.video = (number * 4 + j) % 40;
          job.first_clip = j;
          job.request = small_request();
          job.seed =
              combine_seed({static_cast<std::uint64_t>(number), static_cast<std::uint64_t>(j)});
          layout.jobs.push_back(job);
        }
        return layout;
      },
      0);
  std::string message;
  try {
    while (pipeline.next()) {
    }
  } catch (const dataset_error& error) {
    message = error.what();
  }
  CHECK(message.find("DATA.MAX_FAILURE_SHARE") != std::string::npos);
  CHECK(message.find("DATA.PATH_PREFIX") != std::string::npos);
  CHECK(message.find("/nonexistent/prefix/video") != std::string::npos);
  CHECK(message.find("file does not exist") != std::string::npos);
  // The error stays: a later call does not hang or train on.
  CHECK_THROWS_AS(pipeline.next(), dataset_error);
}

TEST_CASE("evaluation marks the clips of a broken video invalid instead of replacing it") {
  temporary_folder folder;
  const auto good = folder.file("good.mp4");
  write_frame_code_video(good, {});
  const std::vector<video_sample> samples = {{good, 3, "val.csv:1"},
                                             {folder.file("missing.mp4"), 4, "val.csv:2"}};
  const auto dataset = std::make_shared<const video_dataset>(samples, std::vector<std::string>{});
  pipeline_options options;
  options.workers = 1;
  options.broken_videos.report = [](const std::string&) {};
  options.broken_videos.max_share = 1.0;
  clip_pipeline pipeline(dataset, options);
  pipeline.start(
      [&](std::int64_t number) -> std::optional<batch_layout> {
        if (number > 0) return std::nullopt;
        batch_layout layout;
        layout.clips = 6;
        layout.num_frames = 4;
        layout.crop_size = 24;
        for (int v = 0; v < 2; ++v) {
          clip_job job;
          job.video = v;
          job.first_clip = 3 * v;
          job.request = small_request();
          job.request.temporal = temporal_sampling::uniform;
          job.request.temporal_index = 1;
          job.request.temporal_count = 2;
          job.request.spatial = spatial_sampling::uniform;
          job.request.spatial_clips = 3;
          job.replace_on_failure = false;
          layout.jobs.push_back(job);
        }
        return layout;
      },
      0);
  const auto batch = pipeline.next();
  REQUIRE(batch);
  CHECK(batch->valid == std::vector<std::uint8_t>{1, 1, 1, 0, 0, 0});
  CHECK(batch->video_indices == std::vector<std::int64_t>{0, 0, 0, 1, 1, 1});
  CHECK(batch->labels == std::vector<std::int64_t>{3, 3, 3, 4, 4, 4});
  CHECK(batch->spatial_indices == std::vector<int>{0, 1, 2, 0, 1, 2});
  CHECK(batch->temporal_indices == std::vector<int>{1, 1, 1, 1, 1, 1});
  CHECK_FALSE(pipeline.next());
}
