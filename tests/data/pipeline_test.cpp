// The threaded pipeline and its batch sources: the shape of every batch against the plan,
// sharding across ranks, determinism for a seed whatever the number of workers, exact resumption,
// and the evaluation views.

#include <doctest/doctest.h>

#include <map>
#include <multigrid/multigrid.hpp>
#include <set>

#include "data/clip_pipeline.hpp"
#include "data/evaluation_batches.hpp"
#include "data/training_batches.hpp"
#include "test_videos.hpp"

using namespace multigrid::reference;
using namespace multigrid::reference::testing;

namespace {

/// A small multigrid schedule: long and short cycle, 4 frames at the base shape, crop 32.
multigrid::config small_multigrid_config(int gpus) {
  multigrid::config cfg;
  cfg.num_gpus = gpus;
  cfg.batch_size = 2 * gpus;
  cfg.data.num_frames = 8;
  cfg.data.sampling_rate = 2;
  cfg.data.train_crop_size = 32;
  cfg.data.train_jitter_scales = {36, 48};
  cfg.solver.steps = {0, 4, 6};
  cfg.solver.lrs = {1, 0.1, 0.01};
  cfg.solver.policy = multigrid::lr_policy::steps_with_relative_lrs;
  cfg.solver.max_epoch = 8;
  cfg.multigrid.long_cycle = true;
  cfg.multigrid.short_cycle = true;
  return cfg;
}

/// A plain schedule: one shape, 4 clips of 4 frames at crop 24.
multigrid::config plain_config(int gpus) {
  multigrid::config cfg;
  cfg.num_gpus = gpus;
  cfg.batch_size = 4 * gpus;
  cfg.data.num_frames = 4;
  cfg.data.sampling_rate = 2;
  cfg.data.train_crop_size = 24;
  cfg.data.train_jitter_scales = {28, 40};
  cfg.solver.steps = {0};
  cfg.solver.lrs = {1};
  cfg.solver.policy = multigrid::lr_policy::steps_with_relative_lrs;
  cfg.solver.max_epoch = 3;
  return cfg;
}

std::shared_ptr<const video_dataset> load_dataset(const std::string& root) {
  return std::make_shared<const video_dataset>(video_dataset::load(root + "/train.csv", {}));
}

/// Every batch the pipeline gives from `first` on, as (video indices, pixels).
std::vector<std::pair<std::vector<std::int64_t>, std::vector<std::uint8_t>>> run(
    std::shared_ptr<const video_dataset> dataset, const clip_pipeline::batch_source& source,
    std::int64_t first, int workers, std::int64_t count) {
  pipeline_options options;
  options.workers = workers;
  options.prefetch_batches = 3;
  clip_pipeline pipeline(dataset, options);
  pipeline.start(source, first);
  std::vector<std::pair<std::vector<std::int64_t>, std::vector<std::uint8_t>>> batches;
  while (static_cast<std::int64_t>(batches.size()) < count) {
    auto batch = pipeline.next();
    if (!batch) break;
    const auto& layout = batch->layout;
    const auto bytes = static_cast<std::size_t>(layout.clips) * 3 * layout.num_frames *
                       layout.crop_size * layout.crop_size;
    const auto* pixels = static_cast<const std::uint8_t*>(batch->pixels.data);
    batches.emplace_back(batch->video_indices, std::vector<std::uint8_t>(pixels, pixels + bytes));
  }
  return batches;
}

}  // namespace

TEST_CASE("training batches take every shape, batch size and stride range from the plan") {
  const auto cfg = small_multigrid_config(2);
  const auto plan = std::make_shared<const multigrid::plan>(cfg, 64);
  const training_batches rank0(plan, 64, 0, 2, 5, {});
  const training_batches rank1(plan, 64, 1, 2, 5, {});
  std::set<std::pair<int, int>> shapes_seen;
  std::map<int, std::set<std::int64_t>> epoch_videos[2];
  for (std::int64_t i = 0; i < plan->total_iterations(); ++i) {
    const auto step = plan->at(i);
    const auto batches = {rank0(i), rank1(i)};
    int rank = 0;
    for (const auto& batch : batches) {
      REQUIRE(batch);
      CHECK(batch->step->global_iteration == i);
      CHECK(batch->epoch == step.epoch);
      CHECK(batch->clips == step.shape.per_gpu_batch);  // the same on every rank
      CHECK(batch->num_frames == step.shape.num_frames);
      CHECK(batch->crop_size == step.shape.crop);
      REQUIRE(batch->jobs.size() == static_cast<std::size_t>(step.shape.per_gpu_batch));
      for (const auto& job : batch->jobs) {
        CHECK(job.request.min_short_side == step.shape.jitter[0]);
        CHECK(job.request.max_short_side == step.shape.jitter[1]);
        CHECK(job.request.min_sampling_rate == step.settings->sampling_rate[0]);
        CHECK(job.request.max_sampling_rate == step.settings->sampling_rate[1]);
        // No video twice in an epoch on a rank.
        CHECK(epoch_videos[rank][step.epoch].insert(job.video).second);
      }
      ++rank;
    }
    shapes_seen.insert({step.shape.num_frames, step.shape.crop});
  }
  CHECK(shapes_seen.size() >= 4);  // long cycle x short cycle shapes all occur
  CHECK_FALSE(rank0(plan->total_iterations()));
  // The ranks' shares are disjoint in every epoch.
  for (const auto& [epoch, videos] : epoch_videos[0]) {
    for (const auto video : videos) CHECK(epoch_videos[1][epoch].count(video) == 0);
  }
  // Epochs are shuffled differently, identically on every rank.
  CHECK(epoch_shard(64, 0, 2, 5, 0) != epoch_shard(64, 0, 2, 5, 1));
  CHECK(epoch_shard(64, 1, 2, 5, 3) == epoch_shard(64, 1, 2, 5, 3));
}

TEST_CASE("the loader refuses a plan made for another dataset or another world size") {
  const auto plan = std::make_shared<const multigrid::plan>(plain_config(2), 40);
  CHECK_THROWS_WITH_AS(training_batches(plan, 41, 0, 2, 0, {}),
                       doctest::Contains("made for 40 training videos but the dataset has 41"),
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(training_batches(plan, 40, 0, 4, 0, {}), doctest::Contains("NUM_GPUS = 2"),
                       std::invalid_argument);
  CHECK_THROWS_AS(training_batches(plan, 40, 2, 2, 0, {}), std::invalid_argument);
  training_clip_options three;
  three.temporal_clips = 3;
  CHECK_THROWS_WITH_AS(training_batches(plan, 40, 0, 2, 0, three),
                       doctest::Contains("TRAIN_CROP_NUM_TEMPORAL"), std::invalid_argument);
}

TEST_CASE("batches are the same for a seed whatever the number of workers, and resume exactly") {
  temporary_folder folder;
  write_small_dataset(folder.path().string(), 4, 4);
  const auto dataset = load_dataset(folder.path().string());
  const auto plan = std::make_shared<const multigrid::plan>(plain_config(1), dataset->size());
  const training_batches source(plan, dataset->size(), 0, 1, 11, {});
  const auto total = plan->total_iterations();
  REQUIRE(total == 12);
  const auto one = run(dataset, source, 0, 1, total);
  const auto three = run(dataset, source, 0, 3, total);
  REQUIRE(one.size() == static_cast<std::size_t>(total));
  CHECK(one == three);
  // Resuming at iteration 2 of epoch 1 gives exactly what the uninterrupted run gave there.
  const auto resumed = run(dataset, source, plan->first_iteration_of_epoch(1) + 2, 2, 3);
  REQUIRE(resumed.size() == 3);
  for (std::size_t i = 0; i < 3; ++i)
    CHECK(resumed[i] == one[static_cast<std::size_t>(plan->first_iteration_of_epoch(1) + 2) + i]);
  // Another seed gives other clips.
  const training_batches other(plan, dataset->size(), 0, 1, 12, {});
  CHECK(run(dataset, other, 0, 2, 1)[0] != one[0]);
}

TEST_CASE("several clips per video: N / (temporal x spatial) videos, each filling its slots") {
  temporary_folder folder;
  write_small_dataset(folder.path().string(), 2, 4);
  const auto dataset = load_dataset(folder.path().string());
  auto cfg = plain_config(1);
  cfg.batch_size = 4;
  const auto plan = std::make_shared<const multigrid::plan>(cfg, dataset->size());
  training_clip_options options;
  options.temporal_clips = 2;
  options.spatial_clips = 2;
  const training_batches source(plan, dataset->size(), 0, 1, 3, options);
  const auto layout = source(0);
  REQUIRE(layout);
  REQUIRE(layout->jobs.size() == 1);
  CHECK(layout->jobs[0].request.clips() == 4);
  const auto batches = run(dataset, source, 0, 2, 2);
  REQUIRE(batches.size() == 2);
  for (const auto& [videos, pixels] : batches) {
    CHECK(videos.size() == 4);
    CHECK(std::set<std::int64_t>(videos.begin(), videos.end()).size() == 1);
  }
}

TEST_CASE("precise BN uses the stage's long-cycle shape without the short cycle") {
  const auto cfg = small_multigrid_config(1);
  const auto plan = std::make_shared<const multigrid::plan>(cfg, 64);
  for (int epoch = 0; epoch < plan->epochs(); ++epoch) {
    const precise_bn_batches source(plan, 64, 0, 1, 1, {}, epoch, 5);
    const auto& base =
        plan->stages()[static_cast<std::size_t>(plan->stage_of_epoch(epoch))].settings.base;
    for (std::int64_t n = 0; n < 5; ++n) {
      const auto batch = source(n);
      REQUIRE(batch);
      CHECK(batch->clips == base.per_gpu_batch);
      CHECK(batch->num_frames == base.num_frames);
      CHECK(batch->crop_size == base.crop);
      CHECK(batch->jobs.front().request.min_short_side == base.jitter[0]);
    }
    CHECK_FALSE(source(5));
  }
}

TEST_CASE("evaluation views: every video of the rank once per view, crops kept together") {
  const auto views = test_views(8, 8, 256, 10, 3, 256, 16);
  CHECK(views.short_side == 256);
  CHECK(test_views(8, 8, 224, 10, 1, 256, 16).short_side == 256);
  std::set<std::pair<std::int64_t, int>> seen;
  std::int64_t clips = 0;
  for (int rank = 0; rank < 3; ++rank) {
    const evaluation_batches batches(20, rank, 3, views);
    for (std::int64_t n = 0; n < batches.batches(); ++n) {
      const auto batch = batches(n);
      REQUIRE(batch);
      CHECK(batch->clips <= 16);
      CHECK(batch->clips % 3 == 0);
      for (const auto& job : batch->jobs) {
        CHECK(job.video % 3 == rank);
        CHECK(job.request.clips() == 3);
        CHECK_FALSE(job.replace_on_failure);
        CHECK(job.request.temporal == temporal_sampling::uniform);
        CHECK(seen.insert({job.video, job.request.temporal_index}).second);
        clips += job.request.clips();
      }
    }
    CHECK_FALSE(batches(batches.batches()));
  }
  CHECK(seen.size() == 200);
  CHECK(clips == 600);

  // One test view: PySlowFast's first clip of one (the video's start), or with
  // DATA.USE_OFFSET_SAMPLING its middle; validation keeps the middle either way.
  const evaluation_batches one_view(4, 0, 1, test_views(8, 8, 224, 1, 1, 256, 4));
  CHECK(one_view(0)->jobs.front().request.temporal == temporal_sampling::uniform);
  CHECK(one_view(0)->jobs.front().request.temporal_count == 1);
  const evaluation_batches offset_views(4, 0, 1, test_views(8, 8, 224, 1, 1, 256, 4, 30, true));
  CHECK(offset_views(0)->jobs.front().request.temporal == temporal_sampling::offset);

  const evaluation_batches validation(5, 0, 1, validation_views(8, 8, 224, 256, 4));
  CHECK(validation.batches() == 2);
  CHECK(validation(0)->jobs.front().request.temporal == temporal_sampling::centre);
  CHECK(validation(1)->clips == 1);
}
