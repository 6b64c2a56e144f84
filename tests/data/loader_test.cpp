// The tensor loaders the trainer calls: shapes and types, epoch ends and continuation, exact
// resumption, uint8 against float output, evaluation views and pinned memory on a CPU build.

#include <doctest/doctest.h>
#include <torch/torch.h>

#include <multigrid/multigrid.hpp>

#include "data/clip_loader.hpp"
#include "data/clip_normalization.hpp"
#include "test_videos.hpp"

using namespace multigrid::reference;
using namespace multigrid::reference::testing;

namespace {

multigrid::config small_config() {
  multigrid::config cfg;
  cfg.num_gpus = 1;
  cfg.batch_size = 4;
  cfg.data.num_frames = 4;
  cfg.data.sampling_rate = 2;
  cfg.data.train_crop_size = 24;
  cfg.data.train_jitter_scales = {28, 40};
  cfg.solver.steps = {0, 2};
  cfg.solver.lrs = {1, 0.1};
  cfg.solver.policy = multigrid::lr_policy::steps_with_relative_lrs;
  cfg.solver.max_epoch = 3;
  cfg.multigrid.short_cycle = true;  // three shapes per epoch
  cfg.multigrid.default_s = 24;
  return cfg;
}

struct fixture {
  temporary_folder folder;
  std::shared_ptr<const video_dataset> dataset;
  fixture() {
    write_small_dataset(folder.path().string(), 3, 8, 2, 1);
    dataset =
        std::make_shared<const video_dataset>(video_dataset::load(folder.file("train.csv"), {}));
  }
};

loader_options small_options() {
  loader_options options;
  options.workers = 2;
  options.seed = 17;
  return options;
}

}  // namespace

TEST_CASE("the training loader follows the plan, ends epochs and continues without a rebuild") {
  fixture data;
  const multigrid::plan plan(small_config(), data.dataset->size());
  clip_loader loader(data.dataset, plan, small_options());
  CHECK_THROWS_AS(loader.next(), std::logic_error);
  loader.start_epoch(0);
  std::int64_t batches = 0;
  while (auto batch = loader.next()) {
    const auto expected = plan.at(0, batches);
    REQUIRE(batch->step);
    CHECK(batch->step->global_iteration == expected.global_iteration);
    CHECK(batch->clips.sizes() ==
          torch::IntArrayRef({expected.shape.per_gpu_batch, 3, expected.shape.num_frames,
                              expected.shape.crop, expected.shape.crop}));
    CHECK(batch->clips.dtype() == torch::kUInt8);
    CHECK(batch->labels.dtype() == torch::kInt64);
    CHECK(batch->labels.size(0) == expected.shape.per_gpu_batch);
    CHECK(batch->valid.all().item<bool>());
    for (std::size_t i = 0; i < batch->video_indices.size(); ++i) {
      CHECK(batch->labels[static_cast<std::int64_t>(i)].item<std::int64_t>() ==
            (*data.dataset)[batch->video_indices[i]].label);
    }
    ++batches;
  }
  CHECK(batches == plan.iterations_in_epoch(0));
  CHECK_FALSE(loader.next().has_value() == false);  // the next call goes on with epoch 1 ...
  loader.start_epoch(1, 1);                         // ... and so does the natural start_epoch(1)
  const auto second = loader.next();
  REQUIRE(second);
  CHECK(second->epoch == 1);
  CHECK(second->step->iteration == 1);

  // A fresh loader resuming at (epoch 1, iteration 1) hands out the same clips.
  clip_loader resumed(data.dataset, plan, small_options());
  resumed.start_epoch(1, 1);
  const auto again = resumed.next();
  REQUIRE(again);
  CHECK(again->video_indices == second->video_indices);
  CHECK(torch::equal(again->clips, second->clips));

  const auto statistics = loader.statistics();
  CHECK(statistics.clips > 0);
  CHECK(statistics.decoding.frames_decoded > 0);
  CHECK(statistics.clips_per_second() > 0);
  CHECK_FALSE(statistics.pinned);
}

TEST_CASE("float output equals uint8 output normalised with the helper") {
  fixture data;
  const multigrid::plan plan(small_config(), data.dataset->size());
  auto options = small_options();
  options.mean = {0.4f, 0.5f, 0.6f};
  options.std = {0.2f, 0.25f, 0.3f};
  clip_loader bytes(data.dataset, plan, options);
  options.uint8_output = false;
  clip_loader floats(data.dataset, plan, options);
  bytes.start_epoch(2);
  floats.start_epoch(2);
  const auto a = bytes.next();
  const auto b = floats.next();
  REQUIRE(a);
  REQUIRE(b);
  CHECK(b->clips.dtype() == torch::kFloat32);
  CHECK(b->normalised);
  const auto normalised = normalize_clips(a->clips, options.mean, options.std);
  CHECK(torch::allclose(normalised, b->clips, 1e-5, 1e-5));
  // (x / 255 - mean) / std on one value.
  const auto pixel = a->clips.index({0, 1, 0, 0, 0}).item<std::uint8_t>();
  CHECK(normalised.index({0, 1, 0, 0, 0}).item<float>() ==
        doctest::Approx((pixel / 255.0 - 0.5) / 0.25).epsilon(1e-5));
  CHECK_THROWS_AS(
      normalize_clips(torch::zeros({2, 4, 4}, torch::kUInt8), options.mean, options.std),
      std::invalid_argument);
}

TEST_CASE("a kept normalisation equals the helper and refuses clips of another rank") {
  const std::array<float, 3> mean{0.4f, 0.5f, 0.6f};
  const std::array<float, 3> std{0.2f, 0.25f, 0.3f};
  torch::manual_seed(3);
  const auto clips = torch::randint(0, 256, {2, 3, 4, 5, 6}, torch::kUInt8);
  const clip_normalization kept(mean, std, torch::kCPU);
  CHECK(torch::allclose(kept(clips), normalize_clips(clips, mean, std), 1e-6, 1e-6));
  CHECK(kept(clips).index({1, 2, 3, 4, 5}).item<float>() ==
        doctest::Approx((clips.index({1, 2, 3, 4, 5}).item<std::uint8_t>() / 255.0 - 0.6) / 0.3)
            .epsilon(1e-5));
  CHECK_THROWS_AS(kept(clips[0]), std::invalid_argument);  // (3, T, H, W) against 5 dimensions
  CHECK_THROWS_AS(clip_normalization(mean, {0.2f, 0.0f, 0.3f}, torch::kCPU), std::invalid_argument);
}

TEST_CASE("the test loader gives every view of every video, marked for aggregation") {
  fixture data;
  const auto test =
      std::make_shared<const video_dataset>(video_dataset::load(data.folder.file("test.csv"), {}));
  auto options = small_options();
  options.pin_memory = true;  // no CUDA here: ordinary memory, noted in the statistics
  evaluation_loader loader(test, test_views(4, 2, 24, 2, 3, 24, 6), options);
  CHECK(loader.batches() == 3);
  std::map<std::int64_t, int> views_per_video;
  while (auto batch = loader.next()) {
    CHECK(batch->clips.size(0) == 6);
    CHECK(batch->clips.size(3) == 24);
    for (std::size_t i = 0; i < batch->video_indices.size(); ++i) {
      ++views_per_video[batch->video_indices[i]];
      CHECK(batch->spatial_indices[i] == static_cast<int>(i % 3));
    }
  }
  CHECK(views_per_video.size() == 3);
  for (const auto& [video, views] : views_per_video) CHECK(views == 6);
  CHECK(loader.statistics().pinned == torch::cuda::is_available());
  loader.start();  // rewinds
  CHECK(loader.next());
}

TEST_CASE("precise BN batches have the long-cycle shape") {
  fixture data;
  const multigrid::plan plan(small_config(), data.dataset->size());
  precise_bn_loader loader(data.dataset, plan, small_options(), 2);
  loader.start(0);
  int batches = 0;
  while (auto batch = loader.next()) {
    CHECK(batch->clips.size(0) == loader.shape().per_gpu_batch);
    CHECK(batch->clips.size(3) == 24);
    ++batches;
  }
  CHECK(batches == 2);
}
