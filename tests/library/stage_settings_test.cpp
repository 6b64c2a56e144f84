#include <doctest/doctest.h>

#include <array>
#include <multigrid/batch_norm_mode.hpp>
#include <multigrid/epoch_schedule.hpp>
#include <multigrid/plan.hpp>
#include <multigrid/stage_settings.hpp>
#include <sstream>
#include <string>

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

// Stage `index` (negative: from the end) with the BatchNorm the schedule gives it.
stage_settings settings_of(const config& cfg, int index) {
  const auto all = make_all_stage_settings(cfg, make_epoch_schedule(cfg));
  return all[static_cast<std::size_t>(index < 0 ? static_cast<int>(all.size()) + index : index)];
}

}  // namespace

TEST_CASE("Kinetics: batches, BN, short cycle, crops, jitter and stride of every stage") {
  const auto cfg = testing::kinetics_slowfast_multigrid();
  const batch_norm_mode plain{};
  for (int cycle = 0; cycle < 3; ++cycle) {
    CAPTURE(cycle);
    const auto stage = [&](int j) { return settings_of(cfg, 4 * cycle + j); };
    check_stage(stage(0), 512, 64, 8, 158, {2, 8}, {batch_norm_type::sub_batch, 8, 1},
                {{{128, 112, 128}, {64, 158, 181}, {64, 158, 181}}});
    check_stage(stage(1), 256, 32, 16, 158, {2, 4}, {batch_norm_type::sub_batch, 4, 1},
                {{{64, 112, 128}, {32, 158, 181}, {32, 158, 181}}});
    check_stage(stage(2), 128, 16, 16, 224, {2, 4}, {batch_norm_type::sub_batch, 2, 1},
                {{{64, 112, 128}, {32, 158, 181}, {16, 224, 256}}});
    check_stage(stage(3), 64, 8, 32, 224, {2, 2}, plain,
                {{{32, 112, 128}, {16, 158, 181}, {8, 224, 256}}});
  }
  check_stage(settings_of(cfg, -1), 64, 8, 32, 224, {2, 2}, plain,
              {{{32, 112, 128}, {16, 158, 181}, {8, 224, 256}}});
}

TEST_CASE("Without multigrid the stage is the base shape with the configured jitter") {
  auto cfg = testing::kinetics_slowfast_multigrid();
  cfg.multigrid.long_cycle = false;
  cfg.multigrid.short_cycle = false;
  cfg.data.train_jitter_scales = {200, 300};
  const auto settings = settings_of(cfg, 0);
  CHECK(settings.cycle_length == 1);
  CHECK(settings.cycle[0] == settings.base);
  CHECK(settings.base.jitter == std::array<int, 2>{200, 300});
  CHECK(settings.sampling_rate == std::array<int, 2>{2, 2});
  CHECK(settings.batch_norm.type == batch_norm_type::plain);
}

TEST_CASE("MULTIGRID.LONG_CYCLE_STRIDE changes the coarse clips' stride and nothing else") {
  const auto pyslowfast = testing::kinetics_slowfast_multigrid();
  const auto schedule = make_epoch_schedule(pyslowfast);
  const auto original = make_all_stage_settings(pyslowfast, schedule);
  for (const auto stride : {long_cycle_stride::base_span, long_cycle_stride::base_stride}) {
    CAPTURE(long_cycle_stride_name(stride));
    auto changed_cfg = pyslowfast;
    changed_cfg.multigrid.stride = stride;
    const auto changed = make_all_stage_settings(changed_cfg, make_epoch_schedule(changed_cfg));
    REQUIRE(changed.size() == original.size());
    for (std::size_t i = 0; i < original.size(); ++i) {
      CAPTURE(i);
      // PySlowFast draws between the base stride and the span-keeping one: 2-8 at 8 of 32
      // frames, 2-4 at 16, 2-2 at 32. The choices take one end of that range.
      const auto drawn = original[i].sampling_rate;
      const int end = stride == long_cycle_stride::base_span ? drawn[1] : drawn[0];
      CHECK(changed[i].sampling_rate == std::array<int, 2>{end, end});
      CHECK(changed[i].base == original[i].base);
      CHECK(changed[i].cycle == original[i].cycle);
      CHECK(changed[i].batch_norm == original[i].batch_norm);
    }
    CHECK(make_epoch_schedule(changed_cfg).steps == schedule.steps);
  }
  CHECK(original.front().sampling_rate == std::array<int, 2>{2, 8});
  CHECK(original.back().sampling_rate == std::array<int, 2>{2, 2});
  CHECK(parse_long_cycle_stride("base_span") == long_cycle_stride::base_span);
  CHECK_FALSE(parse_long_cycle_stride("span").has_value());
}

TEST_CASE("SSv2: two clips per GPU train with sync-BN over 4 devices") {
  const auto cfg = testing::ssv2_slowfast_multigrid();
  const auto base = settings_of(cfg, -1);
  CHECK(base.base.per_gpu_batch == 2);
  CHECK(base.batch_norm == batch_norm_mode{batch_norm_type::synchronized, 1, 4});
  const auto coarsest = settings_of(cfg, 0);
  CHECK(coarsest.base.per_gpu_batch == 16);
  CHECK(coarsest.batch_norm == batch_norm_mode{batch_norm_type::sub_batch, 2, 1});
  const auto second = settings_of(cfg, 1);
  CHECK(second.batch_norm.type == batch_norm_type::plain);
  const auto third = settings_of(cfg, 2);
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
  const auto settings = settings_of(cfg, 0);
  CHECK(settings.base.global_batch == 512);
  CHECK(settings.base.per_gpu_batch == 512);
  CHECK(settings.batch_norm == batch_norm_mode{batch_norm_type::sub_batch, 64, 1});
  CHECK(settings.cycle[0].global_batch == 1024);
}

namespace {

// `runs` as batch_norm_by_epoch.py prints them: "first-last:type" with plain, sub<k>, sync<d>.
void check_batch_norm_by_epoch(const config& cfg, const std::string& runs) {
  const plan schedule(cfg, 1000000);
  std::istringstream stream(runs);
  std::string run;
  int checked = 0;
  while (stream >> run) {
    const auto dash = run.find('-');
    const auto colon = run.find(':');
    const int first = std::stoi(run.substr(0, dash));
    const int last = std::stoi(run.substr(dash + 1, colon - dash - 1));
    const auto kind = run.substr(colon + 1);
    batch_norm_mode expected;
    if (kind.rfind("sub", 0) == 0)
      expected = {batch_norm_type::sub_batch, std::stoi(kind.substr(3)), 1};
    if (kind.rfind("sync", 0) == 0) {
      expected = {batch_norm_type::synchronized, 1, std::stoi(kind.substr(4))};
    }
    for (int epoch = first; epoch <= last; ++epoch) {
      CAPTURE(epoch);
      const auto& stage =
          schedule.stages()[static_cast<std::size_t>(schedule.stage_of_epoch(epoch))];
      CHECK(stage.settings.batch_norm == expected);
      ++checked;
    }
  }
  CHECK(checked == schedule.epochs());
}

config bn_case(int gpus, int batch, int frames, int crop, std::vector<int> steps, int max_epoch,
               bool long_cycle, bool short_cycle, batch_norm_settings bn) {
  config cfg;
  cfg.num_gpus = gpus;
  cfg.batch_size = batch;
  cfg.data.num_frames = frames;
  cfg.data.sampling_rate = 2;
  cfg.data.train_crop_size = crop;
  cfg.solver.policy = lr_policy::steps_with_relative_lrs;
  cfg.solver.steps = std::move(steps);
  cfg.solver.lrs = std::vector<double>(cfg.solver.steps.size(), 1.0);
  cfg.solver.max_epoch = max_epoch;
  cfg.multigrid.long_cycle = long_cycle;
  cfg.multigrid.short_cycle = short_cycle;
  cfg.batch_norm = bn;
  return cfg;
}

}  // namespace

// Expected runs printed by tests/library/pyslowfast/batch_norm_by_epoch.py from PySlowFast's own
// MultigridSchedule (commit 287ec00).
TEST_CASE("BatchNorm per epoch as PySlowFast's MultigridSchedule sets it") {
  SUBCASE("the short cycle alone keeps the configured sync-BN") {
    check_batch_norm_by_epoch(bn_case(8, 64, 32, 224, {0, 94, 154, 196}, 239, false, true,
                                      {batch_norm_type::synchronized, 1, 4}),
                              "0-357:sync4");
  }
  SUBCASE("a long cycle whose one shape is the base keeps the configured BN") {
    auto cfg = bn_case(16, 64, 32, 224, {0, 94, 154, 196}, 239, true, true,
                       {batch_norm_type::synchronized, 1, 2});
    cfg.multigrid.long_cycle_factors = {{1.0, 1.0}};
    check_batch_norm_by_epoch(cfg, "0-357:sync2");
  }
  SUBCASE("the long cycle on two GPUs sets BN_BASE_SIZE's rule at every shape change") {
    check_batch_norm_by_epoch(
        bn_case(2, 16, 16, 112, {0, 20, 30}, 36, true, true, {batch_norm_type::sub_batch, 2, 1}),
        "0-14:sub8 15-22:sub4 23-29:sub2 30-32:plain 33-40:sub8 41-44:sub4 45-47:sub2 48-53:plain");
  }
  SUBCASE("the standard schedule keeps the configured sub-batch BN") {
    check_batch_norm_by_epoch(
        bn_case(1, 16, 8, 112, {0, 20, 30}, 36, false, false, {batch_norm_type::sub_batch, 4, 1}),
        "0-35:sub4");
  }
}

TEST_CASE("A configured BN the processes cannot run degrades as documented") {
  // Sync-BN over 4 devices with one process: plain BN; 3 splits of 8 clips: 2 splits.
  CHECK(feasible_batch_norm({batch_norm_type::synchronized, 1, 4}, 8, 1) == batch_norm_mode{});
  CHECK(feasible_batch_norm({batch_norm_type::synchronized, 1, 4}, 8, 6) ==
        batch_norm_mode{batch_norm_type::synchronized, 1, 3});
  CHECK(feasible_batch_norm({batch_norm_type::sub_batch, 3, 1}, 8, 1) ==
        batch_norm_mode{batch_norm_type::sub_batch, 2, 1});
  CHECK(feasible_batch_norm({batch_norm_type::sub_batch, 16, 1}, 8, 1) ==
        batch_norm_mode{batch_norm_type::sub_batch, 8, 1});
}
