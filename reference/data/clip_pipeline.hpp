#pragma once
// The loader's engine: worker threads decode the clips of upcoming batches into buffers of a
// bounded prefetch queue, and batches come out in order. What each batch holds (which videos,
// which clip request, how many clips) comes from a batch source: the training schedule, precise
// BN, validation or the multi-view test. Every job has its own seed, so the output depends only
// on the source, never on the number of workers or their timing. A video that cannot be decoded
// is reported once and replaced by another one drawn from the job's seed (training) or marked
// invalid (evaluation). No LibTorch here: the tensor side allocates the buffers.

#include <array>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <exception>
#include <functional>
#include <memory>
#include <multigrid/plan.hpp>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "data/broken_video_log.hpp"
#include "data/clip_decoder.hpp"
#include "data/clip_request.hpp"
#include "data/video_dataset.hpp"

namespace multigrid::reference {

/// The clips one video contributes to a batch.
struct clip_job {
  std::int64_t video = 0;  ///< dataset index
  int first_clip = 0;      ///< batch slot of its first clip; it fills request.clips() slots
  clip_request request;
  std::uint64_t seed = 0;  ///< its random stream, and the draws of replacements
  /// Training replaces a broken video with a random other one; evaluation marks its slots
  /// invalid instead, so that per-video results stay per video.
  bool replace_on_failure = true;
};

/// What one batch holds.
struct batch_layout {
  std::int64_t number = 0;  ///< position in the source's sequence
  int clips = 0;
  int num_frames = 0;
  int crop_size = 0;
  std::vector<clip_job> jobs;
  int epoch = 0;
  std::optional<multigrid::iteration_plan> step;  ///< training batches: the plan's iteration
};

/// Memory for a batch's pixels; `owner` keeps it alive (a tensor, or plain memory).
struct output_buffer {
  void* data = nullptr;
  std::shared_ptr<void> owner;
};
using buffer_allocator = std::function<output_buffer(std::size_t bytes)>;

/// A batch ready for the consumer: (N, 3, T, S, S) pixels and what each clip is.
struct finished_batch {
  batch_layout layout;
  output_buffer pixels;  ///< uint8, or float normalised when the pipeline was asked for it
  bool normalised = false;
  std::vector<std::int64_t> labels;
  std::vector<std::int64_t> video_indices;  ///< dataset index each clip came from
  std::vector<int> temporal_indices;        ///< which temporal view of its video
  std::vector<int> spatial_indices;  ///< which crop (0, 1, 2 = left/top, centre, right/bottom)
  std::vector<std::uint8_t> valid;   ///< 0 for an evaluation clip whose video was broken
};

struct pipeline_options {
  int workers = 8;           ///< decoding threads (DATA_LOADER.NUM_WORKERS)
  int prefetch_batches = 4;  ///< batches decoded ahead of the consumer
  bool normalise = false;    ///< hand out float (x/255 - mean)/std instead of uint8
  std::array<float, 3> mean{0.45f, 0.45f, 0.45f};
  std::array<float, 3> std{0.225f, 0.225f, 0.225f};
  int max_attempts = 100;  ///< videos tried for one job before giving up
  video_reader_options reader;
  broken_video_policy broken_videos;
  /// Shared with other pipelines to report each broken file once per run; created if empty.
  std::shared_ptr<broken_video_log> broken_log;
  buffer_allocator allocate;  ///< default: 64-byte aligned host memory
};

struct pipeline_statistics {
  std::int64_t batches = 0;
  std::int64_t clips = 0;
  double wall_seconds = 0;           ///< since construction or the last reset
  double consumer_wait_seconds = 0;  ///< time next() blocked waiting for a batch
  double worker_seconds = 0;         ///< time workers spent on jobs, summed
  decode_timings decoding;           ///< summed over workers
  std::int64_t failed_attempts = 0;
  std::int64_t broken_videos = 0;
  std::int64_t videos_tried = 0;

  double clips_per_second() const noexcept { return wall_seconds > 0 ? clips / wall_seconds : 0; }
};

class clip_pipeline {
 public:
  /// The batch with a given number, or nullopt past the end of the sequence.
  using batch_source = std::function<std::optional<batch_layout>(std::int64_t number)>;

  clip_pipeline(std::shared_ptr<const video_dataset> dataset, pipeline_options options);
  ~clip_pipeline();
  clip_pipeline(const clip_pipeline&) = delete;
  clip_pipeline& operator=(const clip_pipeline&) = delete;

  /// Starts (or restarts, dropping whatever was prefetched) at batch `first_number`.
  void start(batch_source source, std::int64_t first_number);
  /// The next batch in order, waiting for it; nullopt when the source has ended. Rethrows the
  /// error that stopped the pipeline (dataset_error when too many videos are broken).
  std::optional<finished_batch> next();
  /// Number of the batch next() returns next (or would, were the source not ended).
  std::int64_t position() const;

  pipeline_statistics statistics() const;
  void reset_statistics();
  const broken_video_log& broken_log() const noexcept { return *log_; }
  const video_dataset& dataset() const noexcept { return *dataset_; }

 private:
  struct batch_state;
  struct task {
    std::shared_ptr<batch_state> batch;
    std::size_t job = 0;
    std::uint64_t generation = 0;
  };

  void fill_locked();
  void work();
  void stop_workers();  ///< asks every worker to stop and joins it
  void run_job(batch_state& batch, std::size_t job_index, clip_decoder& decoder,
               std::vector<std::uint8_t>& scratch);

  std::shared_ptr<const video_dataset> dataset_;
  pipeline_options options_;
  std::shared_ptr<broken_video_log> log_;

  mutable std::mutex mutex_;
  std::condition_variable work_ready_;
  std::condition_variable batch_ready_;
  std::deque<task> tasks_;
  std::deque<std::shared_ptr<batch_state>> in_flight_;
  batch_source source_;
  std::int64_t next_number_ = 0;  ///< next batch to schedule
  std::int64_t position_ = 0;     ///< next batch to hand out
  bool source_ended_ = false;
  bool started_ = false;
  bool stopping_ = false;
  std::uint64_t generation_ = 0;
  std::exception_ptr error_;

  pipeline_statistics statistics_;
  std::chrono::steady_clock::time_point statistics_since_;
  std::vector<std::thread> workers_;
};

/// The default allocator: 64-byte aligned host memory.
output_buffer allocate_host_buffer(std::size_t bytes);

}  // namespace multigrid::reference
