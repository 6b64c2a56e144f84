#include "data/clip_pipeline.hpp"

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <system_error>

#include "config/config_keys.hpp"
#include "data/dataset_error.hpp"
#include "data/parallel_tasks.hpp"

namespace multigrid::reference {
namespace {

using clock_type = std::chrono::steady_clock;

double seconds_since(clock_type::time_point start) {
  return std::chrono::duration<double>(clock_type::now() - start).count();
}

/// Seed of the random stream that draws replacement `attempt` of a job.
std::uint64_t replacement_seed(std::uint64_t job_seed, int attempt) {
  return combine_seed({job_seed, 0x7265706c61636500ULL, static_cast<std::uint64_t>(attempt)});
}

/// Seed of the clip draws (stride, start, scale, crop, flip) for attempt `attempt`.
std::uint64_t clip_seed(std::uint64_t job_seed, int attempt) {
  return combine_seed({job_seed, 0x636c697000000000ULL, static_cast<std::uint64_t>(attempt)});
}

void normalise_clip(const std::uint8_t* pixels, float* out, std::size_t plane_bytes,
                    const std::array<float, 3>& mean, const std::array<float, 3>& std) {
  for (int c = 0; c < 3; ++c) {
    const float scale = 1.0f / (255.0f * std[static_cast<std::size_t>(c)]);
    const float shift = -mean[static_cast<std::size_t>(c)] / std[static_cast<std::size_t>(c)];
    const std::uint8_t* in = pixels + c * plane_bytes;
    float* to = out + c * plane_bytes;
    for (std::size_t i = 0; i < plane_bytes; ++i) to[i] = static_cast<float>(in[i]) * scale + shift;
  }
}

}  // namespace

output_buffer allocate_host_buffer(std::size_t bytes) {
  const std::size_t rounded = (bytes + 63) / 64 * 64;
  void* memory = std::aligned_alloc(64, rounded == 0 ? 64 : rounded);
  if (memory == nullptr) throw std::bad_alloc();
  return {memory, std::shared_ptr<void>(memory, [](void* p) { std::free(p); })};
}

struct clip_pipeline::batch_state {
  finished_batch result;
  std::size_t jobs_left = 0;
  std::size_t clip_bytes = 0;
};

clip_pipeline::clip_pipeline(std::shared_ptr<const video_dataset> dataset, pipeline_options options)
    : dataset_(std::move(dataset)), options_(std::move(options)) {
  if (!dataset_ || dataset_->empty()) throw std::invalid_argument("clip_pipeline: empty dataset");
  if (options_.workers < 1) throw std::invalid_argument("clip_pipeline: at least one worker");
  if (options_.prefetch_batches < 1) {
    throw std::invalid_argument("clip_pipeline: prefetch at least one batch");
  }
  for (int c = 0; c < 3; ++c) {
    if (!(options_.std[static_cast<std::size_t>(c)] > 0)) {
      throw std::invalid_argument("clip_pipeline: DATA.STD must be positive");
    }
  }
  if (!options_.allocate) options_.allocate = allocate_host_buffer;
  log_ = options_.broken_log ? options_.broken_log
                             : std::make_shared<broken_video_log>(options_.broken_videos);
  statistics_since_ = clock_type::now();
  workers_.reserve(static_cast<std::size_t>(options_.workers));
  try {
    for (int i = 0; i < options_.workers; ++i) workers_.emplace_back([this] { work(); });
  } catch (const std::exception& error) {  // std::system_error, or std::bad_alloc
    // The destructor does not run for a constructor that throws: stop and join here, or the
    // joinable threads would terminate the process.
    const auto started = workers_.size();
    stop_workers();
    throw thread_start_error("cannot start " + std::to_string(options_.workers) +
                             " loader threads (" + keys::data_loader_num_workers.name() +
                             "): the system refused thread " + std::to_string(started + 1) + " (" +
                             error.what() + ")");
  }
}

clip_pipeline::~clip_pipeline() {
  stop_workers();
}

void clip_pipeline::stop_workers() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
    tasks_.clear();
  }
  work_ready_.notify_all();
  batch_ready_.notify_all();
  for (auto& worker : workers_) worker.join();
  workers_.clear();
}

void clip_pipeline::start(batch_source source, std::int64_t first_number) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    ++generation_;  // work of the old sequence still running is dropped when it finishes
    tasks_.clear();
    in_flight_.clear();
    source_ = std::move(source);
    next_number_ = first_number;
    position_ = first_number;
    source_ended_ = false;
    started_ = true;
    error_ = nullptr;
    fill_locked();
  }
  work_ready_.notify_all();
}

void clip_pipeline::fill_locked() {
  while (!source_ended_ &&
         in_flight_.size() < static_cast<std::size_t>(options_.prefetch_batches)) {
    auto layout = source_(next_number_);
    if (!layout) {
      source_ended_ = true;
      break;
    }
    ++next_number_;
    auto batch = std::make_shared<batch_state>();
    auto& result = batch->result;
    const auto clips = static_cast<std::size_t>(layout->clips);
    batch->clip_bytes = 3 * static_cast<std::size_t>(layout->num_frames) *
                        static_cast<std::size_t>(layout->crop_size) *
                        static_cast<std::size_t>(layout->crop_size);
    for (const auto& job : layout->jobs) {
      if (job.request.num_frames != layout->num_frames ||
          job.request.crop_size != layout->crop_size || job.first_clip < 0 ||
          job.first_clip + job.request.clips() > layout->clips) {
        throw std::logic_error("clip_pipeline: a job does not fit its batch");
      }
    }
    const std::size_t element = options_.normalise ? sizeof(float) : 1;
    result.pixels = options_.allocate(clips * batch->clip_bytes * element);
    result.normalised = options_.normalise;
    result.labels.assign(clips, -1);
    result.video_indices.assign(clips, -1);
    result.temporal_indices.assign(clips, 0);
    result.spatial_indices.assign(clips, 0);
    result.valid.assign(clips, 0);
    batch->jobs_left = layout->jobs.size();
    result.layout = std::move(*layout);
    in_flight_.push_back(batch);
    for (std::size_t j = 0; j < result.layout.jobs.size(); ++j) {
      tasks_.push_back({batch, j, generation_});
    }
  }
}

std::optional<finished_batch> clip_pipeline::next() {
  std::unique_lock<std::mutex> lock(mutex_);
  if (!started_) throw std::logic_error("clip_pipeline::next() before start()");
  if (error_) std::rethrow_exception(error_);
  fill_locked();
  work_ready_.notify_all();
  if (in_flight_.empty()) return std::nullopt;
  const auto front = in_flight_.front();
  const auto wait_start = clock_type::now();
  batch_ready_.wait(lock, [&] { return error_ || stopping_ || front->jobs_left == 0; });
  statistics_.consumer_wait_seconds += seconds_since(wait_start);
  if (error_) std::rethrow_exception(error_);
  if (stopping_) return std::nullopt;
  in_flight_.pop_front();
  ++position_;
  ++statistics_.batches;
  statistics_.clips += front->result.layout.clips;
  fill_locked();
  lock.unlock();
  work_ready_.notify_all();
  return std::move(front->result);
}

std::int64_t clip_pipeline::position() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return position_;
}

void clip_pipeline::work() {
  clip_decoder decoder(options_.reader);
  std::vector<std::uint8_t> scratch;
  while (true) {
    task current;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      work_ready_.wait(lock, [&] { return stopping_ || !tasks_.empty(); });
      if (stopping_) return;
      current = std::move(tasks_.front());
      tasks_.pop_front();
    }
    const auto start = clock_type::now();
    decoder.reset_timings();
    std::exception_ptr failure;
    try {
      run_job(*current.batch, current.job, decoder, scratch);
    } catch (...) {
      failure = std::current_exception();
    }
    {
      std::lock_guard<std::mutex> lock(mutex_);
      statistics_.worker_seconds += seconds_since(start);
      statistics_.decoding += decoder.timings();
      if (current.generation == generation_) {
        if (failure && !error_) error_ = failure;
        --current.batch->jobs_left;
      }
    }
    batch_ready_.notify_all();
  }
}

void clip_pipeline::run_job(batch_state& batch, std::size_t job_index, clip_decoder& decoder,
                            std::vector<std::uint8_t>& scratch) {
  auto& result = batch.result;
  const clip_job& job = result.layout.jobs[job_index];
  const int clips = job.request.clips();
  const std::size_t clip_bytes = batch.clip_bytes;
  const std::size_t plane_bytes = clip_bytes / 3;

  std::vector<std::uint8_t*> outputs(static_cast<std::size_t>(clips));
  if (options_.normalise) {
    scratch.resize(clip_bytes * static_cast<std::size_t>(clips));
    for (int i = 0; i < clips; ++i)
      outputs[static_cast<std::size_t>(i)] = scratch.data() + i * clip_bytes;
  } else {
    auto* base = static_cast<std::uint8_t*>(result.pixels.data);
    for (int i = 0; i < clips; ++i) {
      outputs[static_cast<std::size_t>(i)] = base + (job.first_clip + i) * clip_bytes;
    }
  }

  const auto fill_slots = [&](std::int64_t video, const std::vector<sampled_clip>* sampled,
                              bool valid) {
    for (int i = 0; i < clips; ++i) {
      const auto slot = static_cast<std::size_t>(job.first_clip + i);
      result.labels[slot] = (*dataset_)[video].label;
      result.video_indices[slot] = video;
      result.valid[slot] = valid ? 1 : 0;
      if (sampled != nullptr) {
        result.temporal_indices[slot] = (*sampled)[static_cast<std::size_t>(i)].temporal_index;
        result.spatial_indices[slot] = (*sampled)[static_cast<std::size_t>(i)].spatial_index;
      } else {
        // The view this slot stands for, so that evaluation can still tell which one is missing.
        const auto& request = job.request;
        const int spatial = i % request.spatial_clips;
        result.temporal_indices[slot] = request.temporal == temporal_sampling::uniform
                                            ? request.temporal_index
                                            : i / request.spatial_clips;
        result.spatial_indices[slot] =
            request.spatial == spatial_sampling::uniform && request.spatial_clips == 1 ? 1
                                                                                       : spatial;
      }
      if (options_.normalise) {
        auto* out = static_cast<float*>(result.pixels.data) + slot * clip_bytes;
        if (valid) {
          normalise_clip(outputs[static_cast<std::size_t>(i)], out, plane_bytes, options_.mean,
                         options_.std);
        } else {
          std::memset(out, 0, clip_bytes * sizeof(float));
        }
      } else if (!valid) {
        std::memset(outputs[static_cast<std::size_t>(i)], 0, clip_bytes);
      }
    }
  };

  std::int64_t video = job.video;
  for (int attempt = 0; attempt < options_.max_attempts; ++attempt) {
    if (attempt > 0) {
      random_stream draw(replacement_seed(job.seed, attempt));
      video = draw.integer(0, dataset_->size() - 1);
    }
    const auto& sample = (*dataset_)[video];
    if (job.replace_on_failure && log_->known_unopenable(video)) continue;
    random_stream random(clip_seed(job.seed, attempt));
    try {
      const auto sampled = decoder.decode(sample.path, job.request, random, outputs);
      log_->tried(video);
      fill_slots(video, &sampled, true);
      return;
    } catch (const video_error& error) {
      log_->failed({video, sample.path, error.reason(), sample.origin}, error.whole_file());
      if (!job.replace_on_failure) {
        fill_slots(video, nullptr, false);
        return;
      }
    }
  }
  throw dataset_error("no decodable video found in " + std::to_string(options_.max_attempts) +
                      " attempts for one clip; broken videos include:\n" + log_->examples(5));
}

pipeline_statistics clip_pipeline::statistics() const {
  std::lock_guard<std::mutex> lock(mutex_);
  auto result = statistics_;
  result.wall_seconds = seconds_since(statistics_since_);
  result.failed_attempts = log_->failures();
  result.broken_videos = log_->broken_videos();
  result.videos_tried = log_->videos_tried();
  return result;
}

void clip_pipeline::reset_statistics() {
  std::lock_guard<std::mutex> lock(mutex_);
  statistics_ = {};
  statistics_since_ = clock_type::now();
}

}  // namespace multigrid::reference
