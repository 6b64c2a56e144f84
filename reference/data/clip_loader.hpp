#pragma once
// The loaders the trainer calls, handing out LibTorch tensors. All share the threaded clip
// pipeline (clip_pipeline.hpp); they differ in what their batches hold:
//
//   clip_loader        training, driven by the plan: every batch's shape (long and short cycle)
//                      and stride range come from multigrid::plan, so prefetching runs across
//                      stage and epoch boundaries without a rebuild
//   precise_bn_loader  the current long-cycle shape, training augmentation, no short cycle
//   evaluation_loader  validation (one centre view per video) or the multi-view test
//
// Clips are (N, 3, T, H, W): uint8, to be normalised on the device with normalize_clips (a
// quarter of the bytes over PCIe), optionally in pinned memory; or float normalised on the CPU.
// The loaders hand out the fast pathway only: the model picks the slow pathway's frames from it.

#include <torch/torch.h>

#include <array>
#include <cstdint>
#include <memory>
#include <multigrid/plan.hpp>
#include <optional>
#include <vector>

#include "data/clip_pipeline.hpp"
#include "data/data_config.hpp"
#include "data/evaluation_batches.hpp"
#include "data/training_batches.hpp"

namespace multigrid::reference {

struct loader_options {
  int rank = 0;
  int world = 1;
  std::uint64_t seed = 0;
  int workers = 8;                  ///< DATA_LOADER.NUM_WORKERS threads
  int prefetch_batches = 0;         ///< batches decoded ahead; 0: enough to keep every worker busy
  bool uint8_output = true;         ///< false: float32 normalised with mean/std on the CPU
  bool pin_memory = false;          ///< page-locked batches (ignored, with a note, without CUDA)
  int train_crop_num_temporal = 1;  ///< DATA.TRAIN_CROP_NUM_TEMPORAL
  int train_crop_num_spatial = 1;   ///< DATA.TRAIN_CROP_NUM_SPATIAL
  double max_failure_share = 0.1;   ///< DATA.MAX_FAILURE_SHARE
  double target_fps = 30;           ///< DATA.TARGET_FPS
  bool random_flip = true;          ///< DATA.RANDOM_FLIP
  bool inverse_uniform_scale = false;                ///< DATA.INV_UNIFORM_SAMPLE
  std::array<float, 3> mean{0.45f, 0.45f, 0.45f};    ///< DATA.MEAN
  std::array<float, 3> std{0.225f, 0.225f, 0.225f};  ///< DATA.STD
  double decode_timeout = 60;                        ///< DATA.DECODE_TIMEOUT
  /// Receives one line per broken video; default: standard error.
  std::function<void(const std::string&)> report;
  /// Share one log between loaders so that each broken file is reported once per run. The log
  /// keeps its own policy: make it with shared_broken_video_log(options) so that it applies
  /// max_failure_share and report.
  std::shared_ptr<broken_video_log> broken_log;
};

/// A broken-video log whose policy is `options`' DATA.MAX_FAILURE_SHARE and report, for loaders
/// to share.
std::shared_ptr<broken_video_log> shared_broken_video_log(const loader_options& options);

/// The options a configuration describes, for process `rank` of `world`.
loader_options loader_options_from(const data_config& config, int rank, int world,
                                   std::uint64_t seed);

struct clip_batch {
  torch::Tensor clips;   ///< (N, 3, T, H, W): uint8, or float32 normalised
  torch::Tensor labels;  ///< int64 (N)
  torch::Tensor valid;   ///< bool (N): false for an evaluation clip whose video was broken
  std::vector<std::int64_t> video_indices;  ///< dataset index (annotation line) of each clip
  std::vector<int> temporal_indices;        ///< which temporal view of its video
  std::vector<int> spatial_indices;  ///< which crop: 0, 1, 2 = left/top, centre, right/bottom
  std::optional<multigrid::iteration_plan> step;  ///< training: the plan's iteration
  int epoch = 0;
  std::int64_t number = 0;  ///< global iteration (training) or batch number
  bool normalised = false;
};

struct loader_statistics : pipeline_statistics {
  bool pinned = false;  ///< batches are in page-locked memory
};

/// Turns the pipeline's batches into tensors; the base of the three loaders.
class tensor_loader_base {
 public:
  loader_statistics statistics() const;
  void reset_statistics() { pipeline_->reset_statistics(); }
  const broken_video_log& broken_log() const noexcept { return pipeline_->broken_log(); }
  const video_dataset& dataset() const noexcept { return pipeline_->dataset(); }

 protected:
  tensor_loader_base(std::shared_ptr<const video_dataset> dataset, const loader_options& options,
                     int batch_clips_hint);
  clip_batch to_tensors(finished_batch batch) const;

  loader_options options_;
  bool pinned_ = false;
  std::unique_ptr<clip_pipeline> pipeline_;
};

/// Training. Construct once for the whole run.
class clip_loader : public tensor_loader_base {
 public:
  clip_loader(std::shared_ptr<const video_dataset> dataset, const multigrid::plan& plan,
              loader_options options);

  /// Positions the loader at iteration `first_iteration` of `epoch` (resuming mid-epoch gives
  /// exactly the batches an uninterrupted run would have). Continuing where the loader stands,
  /// the next epoch after the last one ended, keeps what was prefetched.
  void start_epoch(int epoch, std::int64_t first_iteration = 0);
  /// The next batch of the epoch; nullopt at its end (and at the end of training).
  std::optional<clip_batch> next();

  const multigrid::plan& plan() const noexcept { return *plan_; }

 private:
  std::shared_ptr<const multigrid::plan> plan_;
  bool started_ = false;
  int epoch_ = 0;
  std::int64_t next_iteration_ = 0;        ///< global iteration of the next batch to hand out
  std::optional<finished_batch> pending_;  ///< the next epoch's first batch, already decoded
};

/// Precise BN: `num_batches` batches of the stage's long-cycle shape after an epoch.
class precise_bn_loader : public tensor_loader_base {
 public:
  precise_bn_loader(std::shared_ptr<const video_dataset> dataset, const multigrid::plan& plan,
                    loader_options options, int num_batches);

  /// Starts the batches for the stage that trains `epoch`.
  void start(int epoch);
  std::optional<clip_batch> next();
  /// The shape the batches have (valid after start()).
  const multigrid::clip_shape& shape() const noexcept { return shape_; }

 private:
  std::shared_ptr<const multigrid::plan> plan_;
  int num_batches_ = 0;
  multigrid::clip_shape shape_;
  bool started_ = false;
};

/// Validation or test views, every video of this rank's share once per view.
class evaluation_loader : public tensor_loader_base {
 public:
  evaluation_loader(std::shared_ptr<const video_dataset> dataset, evaluation_view_options views,
                    loader_options options);

  /// Rewinds to the first batch. The first next() starts on its own; nothing is decoded before.
  void start();
  std::optional<clip_batch> next();
  std::int64_t batches() const noexcept { return batches_.batches(); }
  /// The videos this rank evaluates (dataset indices).
  const std::vector<std::int64_t>& videos() const noexcept { return batches_.videos(); }
  const evaluation_view_options& views() const noexcept { return batches_.options(); }

 private:
  evaluation_batches batches_;
  bool started_ = false;
};

}  // namespace multigrid::reference
