#include "data/evaluation_batches.hpp"

#include <algorithm>
#include <stdexcept>
#include <string>

#include "data/random_stream.hpp"

namespace multigrid::reference {

evaluation_view_options validation_views(int num_frames, int sampling_rate, int crop_size,
                                         int short_side, int batch_clips, double target_fps) {
  evaluation_view_options options;
  options.num_frames = num_frames;
  options.sampling_rate = sampling_rate;
  options.target_fps = target_fps;
  options.crop_size = crop_size;
  options.short_side = short_side;
  options.temporal_views = 1;
  options.temporal = temporal_sampling::centre;
  options.spatial_crops = 1;
  options.batch_clips = batch_clips;
  return options;
}

evaluation_view_options test_views(int num_frames, int sampling_rate, int crop_size,
                                   int temporal_views, int spatial_crops,
                                   int single_crop_short_side, int batch_clips, double target_fps,
                                   bool offset_sampling) {
  evaluation_view_options options;
  options.num_frames = num_frames;
  options.sampling_rate = sampling_rate;
  options.target_fps = target_fps;
  options.crop_size = crop_size;
  // PySlowFast: with several crops the short side is the crop (the crops tile the frame's
  // width); with one, the training scale's minimum and a centre crop.
  options.short_side = spatial_crops > 1 ? crop_size : single_crop_short_side;
  options.temporal_views = temporal_views;
  options.temporal = offset_sampling ? temporal_sampling::offset : temporal_sampling::uniform;
  options.spatial_crops = spatial_crops;
  options.batch_clips = batch_clips;
  return options;
}

evaluation_batches::evaluation_batches(std::int64_t dataset_size, int rank, int world,
                                       evaluation_view_options options)
    : options_(options) {
  if (world < 1 || rank < 0 || rank >= world) {
    throw std::invalid_argument("evaluation loader: rank " + std::to_string(rank) +
                                " is not in [0, " + std::to_string(world) + ")");
  }
  if (options_.temporal_views < 1 || options_.spatial_crops < 1 || options_.spatial_crops > 3) {
    throw std::invalid_argument(
        "evaluation loader: TEST.NUM_ENSEMBLE_VIEWS must be positive and "
        "TEST.NUM_SPATIAL_CROPS 1 to 3");
  }
  if (options_.batch_clips < options_.spatial_crops) {
    throw std::invalid_argument("evaluation loader: a batch of " +
                                std::to_string(options_.batch_clips) + " clips cannot hold the " +
                                std::to_string(options_.spatial_crops) + " crops of one view");
  }
  std::vector<std::int64_t> videos;
  for (std::int64_t v = rank; v < dataset_size; v += world) videos.push_back(v);
  videos_ = std::make_shared<const std::vector<std::int64_t>>(std::move(videos));
  jobs_ = static_cast<std::int64_t>(videos_->size()) * options_.temporal_views;
  jobs_per_batch_ = options_.batch_clips / options_.spatial_crops;
  batches_ = (jobs_ + jobs_per_batch_ - 1) / jobs_per_batch_;
  // Validate the request once, before any batch is made.
  clip_request probe;
  probe.num_frames = options_.num_frames;
  probe.min_sampling_rate = probe.max_sampling_rate = options_.sampling_rate;
  probe.target_fps = options_.target_fps;
  probe.crop_size = options_.crop_size;
  probe.min_short_side = probe.max_short_side = options_.short_side;
  check_clip_request(probe);
}

std::optional<batch_layout> evaluation_batches::operator()(std::int64_t number) const {
  if (number < 0 || number >= batches_) return std::nullopt;
  const std::int64_t first_job = number * jobs_per_batch_;
  const std::int64_t last_job = std::min(jobs_, first_job + jobs_per_batch_);
  batch_layout layout;
  layout.number = number;
  layout.num_frames = options_.num_frames;
  layout.crop_size = options_.crop_size;
  for (std::int64_t j = first_job; j < last_job; ++j) {
    clip_job job;
    job.video = (*videos_)[static_cast<std::size_t>(j / options_.temporal_views)];
    const int view = static_cast<int>(j % options_.temporal_views);
    auto& request = job.request;
    request.num_frames = options_.num_frames;
    request.min_sampling_rate = request.max_sampling_rate = options_.sampling_rate;
    request.target_fps = options_.target_fps;
    request.temporal = options_.temporal;
    request.temporal_index = view;
    request.temporal_count = options_.temporal_views;
    request.spatial = spatial_sampling::uniform;
    request.spatial_clips = options_.spatial_crops;
    request.crop_size = options_.crop_size;
    request.min_short_side = request.max_short_side = options_.short_side;
    request.random_flip = false;
    job.first_clip = layout.clips;
    job.seed = combine_seed({static_cast<std::uint64_t>(j)});
    job.replace_on_failure = false;
    layout.clips += request.clips();
    layout.jobs.push_back(job);
  }
  return layout;
}

}  // namespace multigrid::reference
