#include <doctest/doctest.h>
#include <multigrid/batch_norm_mode.hpp>
#include <multigrid/epoch_schedule.hpp>
#include <multigrid/stage_settings.hpp>

#include <array>

#include "kinetics_config.hpp"

using namespace multigrid;

namespace {

struct expected_shape {
  int per_gpu_batch, crop, jitter_min;
};

void check_stage(const stage_settings& settings, int global_batch, int per_gpu_batch, int frames,
                 int crop, std::array<int, 2> stride, batch_norm_mode bn,
                 std::array<expected_shape, 3> cycle) {
  CHECK(settings.base.global_batch == global_batch);
  CHECK(settings.base.per_gpu_batch == per_gpu_batch);
  CHECK(settings.base.num_frames == frames);
  CHECK(settings.base.crop == crop);
  CHECK(settings.sampling_rate == stride);
  CHECK(settings.batch_norm == bn);
  REQUIRE(settings.cycle_length == 3);
  for (int m = 0; m < 3; ++m) {
    CAPTURE(m);
    const auto& shape = settings.cycle[m];
    CHECK(shape.per_gpu_batch == cycle[m].per_gpu_batch);
    CHECK(shape.global_batch == cycle[m].per_gpu_batch * 8);
    CHECK(shape.crop == cycle[m].crop);
    CHECK(shape.num_frames == frames);
    CHECK(shape.jitter == std::array<int, 2>{cycle[m].jitter_min, 320});
  }
  CHECK(settings.cycle[2] == settings.base);
}

}  // namespace

TEST_CASE("Kinetics: batches, BN, short cycle, crops, jitter and stride of every stage") {
  const auto cfg = testing::kinetics_slowfast_multigrid();
  const auto schedule = make_epoch_schedule(cfg);
  const batch_norm_mode plain{};
  for (int cycle = 0; cycle < 3; ++cycle) {
    CAPTURE(cycle);
    const auto stage = [&](int j) { return make_stage_settings(cfg, schedule.stages[4 * cycle + j]); };
    check_stage(stage(0), 512, 64, 8, 158, {2, 8}, {batch_norm_type::sub_batch, 8, 1},
                {{{128, 112, 128}, {64, 158, 181}, {64, 158, 181}}});
    check_stage(stage(1), 256, 32, 16, 158, {2, 4}, {batch_norm_type::sub_batch, 4, 1},
                {{{64, 112, 128}, {32, 158, 181}, {32, 158, 181}}});
    check_stage(stage(2), 128, 16, 16, 224, {2, 4}, {batch_norm_type::sub_batch, 2, 1},
                {{{64, 112, 128}, {32, 158, 181}, {16, 224, 256}}});
    check_stage(stage(3), 64, 8, 32, 224, {2, 2}, plain,
                {{{32, 112, 128}, {16, 158, 181}, {8, 224, 256}}});
  }
  check_stage(make_stage_settings(cfg, schedule.stages.back()), 64, 8, 32, 224, {2, 2}, plain,
              {{{32, 112, 128}, {16, 158, 181}, {8, 224, 256}}});
}

TEST_CASE("Without multigrid the stage is the base shape with the configured jitter") {
  auto cfg = testing::kinetics_slowfast_multigrid();
  cfg.multigrid.long_cycle = false;
  cfg.multigrid.short_cycle = false;
  cfg.data.train_jitter_scales = {200, 300};
  const auto settings = make_stage_settings(cfg, make_epoch_schedule(cfg).stages[0]);
  CHECK(settings.cycle_length == 1);
  CHECK(settings.cycle[0] == settings.base);
  CHECK(settings.base.jitter == std::array<int, 2>{200, 300});
  CHECK(settings.sampling_rate == std::array<int, 2>{2, 2});
  CHECK(settings.batch_norm.type == batch_norm_type::plain);
}

TEST_CASE("SSv2: two clips per GPU train with sync-BN over 4 devices") {
  const auto cfg = testing::ssv2_slowfast_multigrid();
  const auto schedule = make_epoch_schedule(cfg);
  const auto base = make_stage_settings(cfg, schedule.stages.back());
  CHECK(base.base.per_gpu_batch == 2);
  CHECK(base.batch_norm == batch_norm_mode{batch_norm_type::synchronized, 1, 4});
  const auto coarsest = make_stage_settings(cfg, schedule.stages[0]);
  CHECK(coarsest.base.per_gpu_batch == 16);
  CHECK(coarsest.batch_norm == batch_norm_mode{batch_norm_type::sub_batch, 2, 1});
  const auto second = make_stage_settings(cfg, schedule.stages[1]);
  CHECK(second.batch_norm.type == batch_norm_type::plain);
  const auto third = make_stage_settings(cfg, schedule.stages[2]);
  CHECK(third.batch_norm == batch_norm_mode{batch_norm_type::synchronized, 1, 2});
}

TEST_CASE("choose_batch_norm follows PySlowFast's rule on per-GPU batch / BN_BASE_SIZE") {
  CHECK(choose_batch_norm(64, 8, 8) == batch_norm_mode{batch_norm_type::sub_batch, 8, 1});
  CHECK(choose_batch_norm(16, 8, 8) == batch_norm_mode{batch_norm_type::sub_batch, 2, 1});
  CHECK(choose_batch_norm(8, 8, 8) == batch_norm_mode{});
  CHECK(choose_batch_norm(2, 8, 8) == batch_norm_mode{batch_norm_type::synchronized, 1, 4});
  CHECK(choose_batch_norm(3, 8, 8) == batch_norm_mode{batch_norm_type::synchronized, 1, 2});
  CHECK(choose_batch_norm(12, 8, 8) == batch_norm_mode{});  // int(1.5) = 1 split is plain BN
}

TEST_CASE("choose_batch_norm degrades where the reference would crash") {
  // 20 clips in int(20 / 6) = 3 splits do not divide: 2 splits of 10.
  CHECK(choose_batch_norm(20, 6, 1) == batch_norm_mode{batch_norm_type::sub_batch, 2, 1});
  // One process cannot synchronise with four.
  CHECK(choose_batch_norm(2, 8, 1) == batch_norm_mode{});
  // Groups of 4 do not partition 6 processes; groups of 3 do.
  CHECK(choose_batch_norm(2, 8, 6) == batch_norm_mode{batch_norm_type::synchronized, 1, 3});
  CHECK(choose_batch_norm(0, 8, 1) == batch_norm_mode{});
}

TEST_CASE("NUM_GPUS 0 is one process holding the whole batch") {
  auto cfg = testing::kinetics_slowfast_multigrid();
  cfg.num_gpus = 0;
  const auto settings = make_stage_settings(cfg, make_epoch_schedule(cfg).stages[0]);
  CHECK(settings.base.global_batch == 512);
  CHECK(settings.base.per_gpu_batch == 512);
  CHECK(settings.batch_norm == batch_norm_mode{batch_norm_type::sub_batch, 64, 1});
  CHECK(settings.cycle[0].global_batch == 1024);
}
