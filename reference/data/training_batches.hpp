#pragma once
// Batch sources driven by the library's plan. For every global iteration the plan gives the
// epoch, the shape (frames, crop, jitter, per-process batch: long and short cycle) and the stride
// range; the videos come from a permutation seeded by (seed, epoch), identical on every rank,
// sharded with multigrid::copy_rank_shard and cut into batches by
// multigrid::short_cycle_batch_sampler, so every rank runs the same sequence of batch sizes.

#include <array>
#include <cstdint>
#include <memory>
#include <multigrid/plan.hpp>
#include <mutex>
#include <optional>
#include <vector>

#include "data/clip_pipeline.hpp"

namespace multigrid::reference {

/// How training clips are cut beyond what the plan decides.
struct training_clip_options {
  double target_fps = 30;              ///< DATA.TARGET_FPS
  bool random_flip = true;             ///< DATA.RANDOM_FLIP
  bool inverse_uniform_scale = false;  ///< DATA.INV_UNIFORM_SAMPLE
  /// Clips cut from each decoded video (DATA.TRAIN_CROP_NUM_TEMPORAL x ..._SPATIAL). A batch of N
  /// clips then holds N / (temporal x spatial) videos, each contributing that many clips; an
  /// epoch keeps the plan's iterations and clips but decodes that many times fewer videos.
  int temporal_clips = 1;
  int spatial_clips = 1;
};

/// This rank's share of the permutation of `dataset_size` videos for `epoch`.
std::vector<std::int64_t> epoch_shard(std::int64_t dataset_size, int rank, int world,
                                      std::uint64_t seed, int epoch);

/// Training batches, numbered by global iteration (plan.at(number)).
class training_batches {
 public:
  training_batches(std::shared_ptr<const multigrid::plan> plan, std::int64_t dataset_size, int rank,
                   int world, std::uint64_t seed, training_clip_options options);

  std::optional<batch_layout> operator()(std::int64_t global_iteration) const;

 private:
  struct cache;
  std::shared_ptr<const multigrid::plan> plan_;
  std::int64_t dataset_size_ = 0;
  int rank_ = 0;
  int world_ = 1;
  std::uint64_t seed_ = 0;
  training_clip_options options_;
  std::shared_ptr<cache> cache_;
};

/// Batches for precise BN after `epoch`: the stage's long-cycle shape (no short cycle), training
/// augmentation, videos from a permutation of their own; `num_batches` of them
/// (BN.NUM_BATCHES_PRECISE). Numbered from 0.
class precise_bn_batches {
 public:
  precise_bn_batches(std::shared_ptr<const multigrid::plan> plan, std::int64_t dataset_size,
                     int rank, int world, std::uint64_t seed, training_clip_options options,
                     int epoch, int num_batches);

  std::optional<batch_layout> operator()(std::int64_t number) const;
  const multigrid::clip_shape& shape() const noexcept { return shape_; }

 private:
  std::shared_ptr<const multigrid::plan> plan_;
  multigrid::clip_shape shape_;
  std::array<int, 2> sampling_rate_{};
  std::shared_ptr<const std::vector<std::int64_t>> order_;
  int rank_ = 0;
  std::uint64_t seed_ = 0;
  training_clip_options options_;
  int epoch_ = 0;
  int num_batches_ = 0;
};

/// The clip request for a training clip of `shape` with strides in `sampling_rate`.
clip_request training_request(const multigrid::clip_shape& shape,
                              const std::array<int, 2>& sampling_rate,
                              const training_clip_options& options);

}  // namespace multigrid::reference
