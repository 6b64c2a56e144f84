#include "data/training_batches.hpp"

#include <multigrid/short_cycle_sampler.hpp>
#include <stdexcept>
#include <string>

#include "data/random_stream.hpp"

namespace multigrid::reference {
namespace {

constexpr std::uint64_t training_tag = 0x747261696e000000ULL;
constexpr std::uint64_t precise_tag = 0x7072656369736500ULL;
constexpr std::uint64_t order_tag = 0x6f72646572000000ULL;

void check_rank(int rank, int world) {
  if (world < 1 || rank < 0 || rank >= world) {
    throw std::invalid_argument("loader: rank " + std::to_string(rank) + " is not in [0, " +
                                std::to_string(world) + ")");
  }
}

void check_clips_per_video(const multigrid::clip_shape& shape, const training_clip_options& options,
                           const std::string& where) {
  const int per_video = options.temporal_clips * options.spatial_clips;
  if (per_video < 1) throw std::invalid_argument("loader: clips per video must be positive");
  if (shape.per_gpu_batch % per_video != 0) {
    throw std::invalid_argument(
        "loader: the per-process batch of " + std::to_string(shape.per_gpu_batch) + " clips " +
        where +
        " is not a multiple of DATA.TRAIN_CROP_NUM_TEMPORAL x DATA.TRAIN_CROP_NUM_SPATIAL = " +
        std::to_string(per_video));
  }
}

// Each clip's randomness (start, stride, scale, crop) is drawn from a stream seeded by the video
// and the pass's seed, not by the clip's batch or rank: a video is augmented the same way in an
// epoch whether one process or eight load it, so runs on different numbers of processes see the
// same clips. A training epoch uses each video at most once.
std::vector<clip_job> jobs_for(const std::int64_t* videos, int batch_clips,
                               const clip_request& request, std::uint64_t pass_seed) {
  const int per_video = request.clips();
  std::vector<clip_job> jobs;
  for (int j = 0; j < batch_clips / per_video; ++j) {
    clip_job job;
    job.video = videos[j];
    job.first_clip = j * per_video;
    job.request = request;
    job.seed = combine_seed({pass_seed, static_cast<std::uint64_t>(videos[j])});
    jobs.push_back(job);
  }
  return jobs;
}

}  // namespace

clip_request training_request(const multigrid::clip_shape& shape,
                              const std::array<int, 2>& sampling_rate,
                              const training_clip_options& options) {
  clip_request request;
  request.num_frames = shape.num_frames;
  request.min_sampling_rate = sampling_rate[0];
  request.max_sampling_rate = sampling_rate[1];
  request.target_fps = options.target_fps;
  request.temporal = temporal_sampling::random;
  request.spatial = spatial_sampling::random;
  request.crop_size = shape.crop;
  request.min_short_side = shape.jitter[0];
  request.max_short_side = shape.jitter[1];
  request.random_flip = options.random_flip;
  request.inverse_uniform_scale = options.inverse_uniform_scale;
  request.temporal_clips = options.temporal_clips;
  request.spatial_clips = options.spatial_clips;
  return request;
}

std::vector<std::int64_t> epoch_shard(std::int64_t dataset_size, int rank, int world,
                                      std::uint64_t seed, int epoch) {
  check_rank(rank, world);
  const auto order = random_permutation(
      dataset_size, combine_seed({seed, order_tag, static_cast<std::uint64_t>(epoch)}));
  std::vector<std::int64_t> shard(multigrid::rank_shard_size(order.size(), world));
  multigrid::copy_rank_shard(order.begin(), order.end(), rank, world, shard.begin());
  return shard;
}

struct training_batches::cache {
  std::mutex mutex;
  int epoch = -1;
  std::shared_ptr<const std::vector<std::int64_t>> shard;
};

training_batches::training_batches(std::shared_ptr<const multigrid::plan> plan,
                                   std::int64_t dataset_size, int rank, int world,
                                   std::uint64_t seed, training_clip_options options)
    : plan_(std::move(plan)),
      dataset_size_(dataset_size),
      rank_(rank),
      world_(world),
      seed_(seed),
      options_(options),
      cache_(std::make_shared<cache>()) {
  check_rank(rank, world);
  if (plan_->train_samples() != dataset_size) {
    throw std::invalid_argument(
        "loader: the plan was made for " + std::to_string(plan_->train_samples()) +
        " training videos but the dataset has " + std::to_string(dataset_size));
  }
  if (plan_->configuration().devices() != world) {
    throw std::invalid_argument("loader: the plan shares each batch over NUM_GPUS = " +
                                std::to_string(plan_->configuration().devices()) +
                                " processes but the loader runs on " + std::to_string(world));
  }
  for (std::size_t s = 0; s < plan_->stages().size(); ++s) {
    const auto& settings = plan_->stages()[s].settings;
    for (int m = 0; m < settings.cycle_length; ++m) {
      check_clips_per_video(settings.cycle[static_cast<std::size_t>(m)], options_,
                            "of stage " + std::to_string(s));
    }
  }
}

std::optional<batch_layout> training_batches::operator()(std::int64_t global_iteration) const {
  if (global_iteration < 0 || global_iteration >= plan_->total_iterations()) return std::nullopt;
  const auto step = plan_->at(global_iteration);
  std::shared_ptr<const std::vector<std::int64_t>> shard;
  {
    std::lock_guard<std::mutex> lock(cache_->mutex);
    if (cache_->epoch != step.epoch) {
      cache_->shard = std::make_shared<const std::vector<std::int64_t>>(
          epoch_shard(dataset_size_, rank_, world_, seed_, step.epoch));
      cache_->epoch = step.epoch;
    }
    shard = cache_->shard;
  }
  const auto& settings = *step.settings;
  std::array<int, 3> sizes{};
  for (int m = 0; m < settings.cycle_length; ++m) {
    sizes[static_cast<std::size_t>(m)] = settings.cycle[static_cast<std::size_t>(m)].per_gpu_batch;
  }
  const multigrid::short_cycle_batch_sampler sampler(shard->begin(), shard->end(), sizes.data(),
                                                     settings.cycle_length);
  const auto batch = sampler.at(static_cast<std::size_t>(step.iteration));
  if (batch.shape_index != step.shape_index ||
      static_cast<int>(batch.size()) != step.shape.per_gpu_batch) {
    throw std::logic_error("training_batches: the sampler and the plan disagree");
  }

  batch_layout layout;
  layout.number = global_iteration;
  layout.clips = step.shape.per_gpu_batch;
  layout.num_frames = step.shape.num_frames;
  layout.crop_size = step.shape.crop;
  layout.epoch = step.epoch;
  const auto request = training_request(step.shape, settings.sampling_rate, options_);
  const auto pass_seed =
      combine_seed({seed_, training_tag, static_cast<std::uint64_t>(step.epoch)});
  layout.jobs = jobs_for(&*batch.first, layout.clips, request, pass_seed);
  layout.step = step;
  return layout;
}

precise_bn_batches::precise_bn_batches(std::shared_ptr<const multigrid::plan> plan,
                                       std::int64_t dataset_size, int rank, int world,
                                       std::uint64_t seed, training_clip_options options, int epoch,
                                       int num_batches)
    : plan_(std::move(plan)),
      rank_(rank),
      seed_(seed),
      options_(options),
      epoch_(epoch),
      num_batches_(num_batches) {
  check_rank(rank, world);
  const auto& settings =
      plan_->stages()[static_cast<std::size_t>(plan_->stage_of_epoch(epoch))].settings;
  shape_ = settings.base;
  sampling_rate_ = settings.sampling_rate;
  check_clips_per_video(shape_, options_, "for precise BN");
  order_ = std::make_shared<const std::vector<std::int64_t>>(
      epoch_shard(dataset_size, rank, world, combine_seed({seed, precise_tag}), epoch));
  if (order_->size() < static_cast<std::size_t>(shape_.per_gpu_batch /
                                                (options.temporal_clips * options.spatial_clips))) {
    throw std::invalid_argument("precise BN: " + std::to_string(order_->size()) +
                                " videos per process make no batch of " +
                                std::to_string(shape_.per_gpu_batch) + " clips");
  }
}

std::optional<batch_layout> precise_bn_batches::operator()(std::int64_t number) const {
  if (number < 0 || number >= num_batches_) return std::nullopt;
  const int per_video = options_.temporal_clips * options_.spatial_clips;
  const auto videos = static_cast<std::size_t>(shape_.per_gpu_batch / per_video);
  // Consecutive runs of the permutation, wrapping around when the batches need more videos.
  std::vector<std::int64_t> chosen(videos);
  for (std::size_t i = 0; i < videos; ++i) {
    chosen[i] = (*order_)[(static_cast<std::size_t>(number) * videos + i) % order_->size()];
  }
  batch_layout layout;
  layout.number = number;
  layout.clips = shape_.per_gpu_batch;
  layout.num_frames = shape_.num_frames;
  layout.crop_size = shape_.crop;
  layout.epoch = epoch_;
  const auto request = training_request(shape_, sampling_rate_, options_);
  // Precise BN wraps around the shard when it needs more videos: its batches are seeded apart.
  const auto pass_seed =
      combine_seed({seed_, precise_tag, static_cast<std::uint64_t>(epoch_),
                    static_cast<std::uint64_t>(number), static_cast<std::uint64_t>(rank_)});
  layout.jobs = jobs_for(chosen.data(), layout.clips, request, pass_seed);
  return layout;
}

}  // namespace multigrid::reference
