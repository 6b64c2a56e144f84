#include "data/clip_loader.hpp"

#include <cstdio>
#include <stdexcept>

#include "compat/torch_compat.hpp"

namespace multigrid::reference {
namespace {

broken_video_policy broken_video_policy_of(const loader_options& options) {
  broken_video_policy policy;
  policy.max_share = options.max_failure_share;
  policy.report = options.report;
  return policy;
}

pipeline_options pipeline_options_for(const loader_options& options, int batch_clips_hint) {
  pipeline_options pipeline;
  pipeline.workers = options.workers;
  // Enough batches in flight that every worker has a job even when batches are small.
  const int hint = std::max(1, batch_clips_hint);
  pipeline.prefetch_batches = options.prefetch_batches > 0
                                  ? options.prefetch_batches
                                  : std::max(2, (2 * options.workers + hint - 1) / hint);
  pipeline.normalise = !options.uint8_output;
  pipeline.mean = options.mean;
  pipeline.std = options.std;
  pipeline.reader.decoder_threads = 1;
  pipeline.reader.timeout_seconds = options.decode_timeout;
  pipeline.broken_videos = broken_video_policy_of(options);
  pipeline.broken_log = options.broken_log;
  return pipeline;
}

training_clip_options training_options_for(const loader_options& options) {
  training_clip_options training;
  training.target_fps = options.target_fps;
  training.random_flip = options.random_flip;
  training.inverse_uniform_scale = options.inverse_uniform_scale;
  training.temporal_clips = options.train_crop_num_temporal;
  training.spatial_clips = options.train_crop_num_spatial;
  return training;
}

}  // namespace

std::shared_ptr<broken_video_log> shared_broken_video_log(const loader_options& options) {
  return std::make_shared<broken_video_log>(broken_video_policy_of(options));
}

loader_options loader_options_from(const data_config& config, int rank, int world,
                                   std::uint64_t seed) {
  loader_options options;
  options.rank = rank;
  options.world = world;
  options.seed = seed;
  options.workers = config.num_workers;
  options.prefetch_batches = config.prefetch_batches;
  options.train_crop_num_temporal = config.train_crop_num_temporal;
  options.train_crop_num_spatial = config.train_crop_num_spatial;
  options.max_failure_share = config.max_failure_share;
  options.target_fps = config.target_fps;
  options.random_flip = config.random_flip;
  options.inverse_uniform_scale = config.inverse_uniform_sample;
  options.mean = config.mean;
  options.std = config.std;
  options.decode_timeout = config.decode_timeout;
  return options;
}

tensor_loader_base::tensor_loader_base(std::shared_ptr<const video_dataset> dataset,
                                       const loader_options& options, int batch_clips_hint)
    : options_(options) {
  auto pipeline = pipeline_options_for(options_, batch_clips_hint);
  pinned_ = options_.pin_memory && compat::pinned_memory_available();
  if (options_.pin_memory && !pinned_) {
    std::fprintf(stderr, "note: pinned memory needs CUDA; the loader uses ordinary memory\n");
  }
  const bool pinned = pinned_;
  const bool as_float = !options_.uint8_output;
  pipeline.allocate = [pinned, as_float](std::size_t bytes) {
    const auto type = as_float ? torch::kFloat32 : torch::kUInt8;
    const auto elements = static_cast<std::int64_t>(as_float ? bytes / sizeof(float) : bytes);
    auto tensor =
        std::make_shared<torch::Tensor>(compat::empty_host_tensor(elements, type, pinned));
    output_buffer buffer;
    buffer.data = tensor->data_ptr();
    buffer.owner = tensor;
    return buffer;
  };
  pipeline_ = std::make_unique<clip_pipeline>(std::move(dataset), std::move(pipeline));
}

loader_statistics tensor_loader_base::statistics() const {
  loader_statistics result;
  static_cast<pipeline_statistics&>(result) = pipeline_->statistics();
  result.pinned = pinned_;
  return result;
}

clip_batch tensor_loader_base::to_tensors(finished_batch batch) const {
  clip_batch result;
  const auto& layout = batch.layout;
  const auto tensor = std::static_pointer_cast<torch::Tensor>(batch.pixels.owner);
  result.clips =
      tensor->view({layout.clips, 3, layout.num_frames, layout.crop_size, layout.crop_size});
  result.labels = torch::tensor(batch.labels, torch::TensorOptions().dtype(torch::kInt64));
  result.valid = torch::tensor(std::vector<std::int64_t>(batch.valid.begin(), batch.valid.end()),
                               torch::TensorOptions().dtype(torch::kInt64))
                     .to(torch::kBool);
  result.video_indices = std::move(batch.video_indices);
  result.temporal_indices = std::move(batch.temporal_indices);
  result.spatial_indices = std::move(batch.spatial_indices);
  result.step = layout.step;
  result.epoch = layout.epoch;
  result.number = layout.number;
  result.normalised = batch.normalised;
  return result;
}

clip_loader::clip_loader(std::shared_ptr<const video_dataset> dataset, const multigrid::plan& plan,
                         loader_options options)
    : tensor_loader_base(dataset, options,
                         plan.stages().empty() ? 1
                                               : plan.stages().front().settings.base.per_gpu_batch /
                                                     (options.train_crop_num_temporal *
                                                      options.train_crop_num_spatial)),
      plan_(std::make_shared<const multigrid::plan>(plan)) {
  // Checks the plan against the dataset and the rank now, not at the first batch.
  training_batches(plan_, pipeline_->dataset().size(), options_.rank, options_.world, options_.seed,
                   training_options_for(options_));
}

void clip_loader::start_epoch(int epoch, std::int64_t first_iteration) {
  if (epoch < 0 || epoch >= plan_->epochs()) {
    throw std::out_of_range("clip_loader: epoch " + std::to_string(epoch) + " is outside [0, " +
                            std::to_string(plan_->epochs()) + ")");
  }
  const auto iterations = plan_->iterations_in_epoch(epoch);
  if (first_iteration < 0 || first_iteration > iterations) {
    throw std::out_of_range("clip_loader: iteration " + std::to_string(first_iteration) +
                            " is outside epoch " + std::to_string(epoch) + " (" +
                            std::to_string(iterations) + " iterations)");
  }
  const std::int64_t target = plan_->first_iteration_of_epoch(epoch) + first_iteration;
  epoch_ = epoch;
  if (started_ && target == next_iteration_) return;  // a continuation: keep the prefetch
  pending_.reset();
  next_iteration_ = target;
  started_ = true;
  pipeline_->start(training_batches(plan_, pipeline_->dataset().size(), options_.rank,
                                    options_.world, options_.seed, training_options_for(options_)),
                   target);
}

std::optional<clip_batch> clip_loader::next() {
  if (!started_) throw std::logic_error("clip_loader::next() before start_epoch()");
  std::optional<finished_batch> batch;
  if (pending_) {
    batch = std::move(pending_);
    pending_.reset();
  } else {
    batch = pipeline_->next();
  }
  if (!batch) return std::nullopt;  // the end of training
  if (batch->layout.epoch != epoch_) {
    // The first batch of the next epoch: the current one has ended.
    epoch_ = batch->layout.epoch;
    pending_ = std::move(batch);
    return std::nullopt;
  }
  next_iteration_ = batch->layout.number + 1;
  return to_tensors(std::move(*batch));
}

precise_bn_loader::precise_bn_loader(std::shared_ptr<const video_dataset> dataset,
                                     const multigrid::plan& plan, loader_options options,
                                     int num_batches)
    : tensor_loader_base(
          dataset, options,
          plan.stages().empty() ? 1 : plan.stages().back().settings.base.per_gpu_batch),
      plan_(std::make_shared<const multigrid::plan>(plan)),
      num_batches_(num_batches) {
  if (num_batches < 1) throw std::invalid_argument("precise_bn_loader: at least one batch");
}

void precise_bn_loader::start(int epoch) {
  precise_bn_batches source(plan_, pipeline_->dataset().size(), options_.rank, options_.world,
                            options_.seed, training_options_for(options_), epoch, num_batches_);
  shape_ = source.shape();
  pipeline_->start(std::move(source), 0);
  started_ = true;
}

std::optional<clip_batch> precise_bn_loader::next() {
  if (!started_) throw std::logic_error("precise_bn_loader::next() before start(epoch)");
  auto batch = pipeline_->next();
  if (!batch) return std::nullopt;
  return to_tensors(std::move(*batch));
}

evaluation_loader::evaluation_loader(std::shared_ptr<const video_dataset> dataset,
                                     evaluation_view_options views, loader_options options)
    : tensor_loader_base(dataset, options, views.batch_clips / views.spatial_crops),
      batches_(dataset->size(), options.rank, options.world, views) {}

void evaluation_loader::start() {
  pipeline_->start(batches_, 0);
  started_ = true;
}

std::optional<clip_batch> evaluation_loader::next() {
  if (!started_) start();  // decoding begins when the views are first asked for
  auto batch = pipeline_->next();
  if (!batch) return std::nullopt;
  return to_tensors(std::move(*batch));
}

}  // namespace multigrid::reference
