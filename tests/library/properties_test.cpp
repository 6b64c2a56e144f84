// Properties that must hold for every valid configuration, checked over thousands of random ones.

#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <multigrid/plan.hpp>
#include <numeric>
#include <random>
#include <set>
#include <vector>

using namespace multigrid;

namespace {

config random_config(std::mt19937& random) {
  auto pick = [&](auto... values) {
    const std::vector<std::common_type_t<decltype(values)...>> options{values...};
    return options[std::uniform_int_distribution<std::size_t>(0, options.size() - 1)(random)];
  };
  auto uniform = [&](double low, double high) {
    return std::uniform_real_distribution<double>(low, high)(random);
  };
  config cfg;
  cfg.num_gpus = pick(0, 1, 2, 4, 8, 16);
  cfg.batch_size = cfg.devices() * pick(1, 2, 4, 8, 16);
  cfg.data.num_frames = pick(4, 8, 16, 32, 64);
  cfg.data.sampling_rate = pick(1, 2, 4, 8);
  cfg.data.train_crop_size = pick(112, 160, 224, 256, 312);
  cfg.data.train_jitter_scales = {pick(200, 256), pick(320, 340)};
  cfg.solver.policy = pick(lr_policy::cosine, lr_policy::cosine_batch_scaled, lr_policy::steps,
                           lr_policy::steps_with_relative_lrs);
  const int stages = pick(1, 2, 3, 4, 5);
  int epoch = 0;
  cfg.solver.steps = {0};
  for (int i = 1; i < stages; ++i) {
    epoch += std::uniform_int_distribution<int>(1, 80)(random);
    cfg.solver.steps.push_back(epoch);
  }
  cfg.solver.max_epoch =
      epoch + std::uniform_int_distribution<int>(stages == 1 ? 1 : 0, 60)(random);
  cfg.solver.lrs.clear();
  for (int i = 0; i < stages; ++i) cfg.solver.lrs.push_back(std::pow(0.1, i));
  cfg.solver.base_lr = uniform(0.01, 1);
  cfg.solver.cosine_end_lr = cfg.solver.base_lr * uniform(0, 0.5);
  cfg.solver.warmup_epochs = uniform(0, std::min(20.0, cfg.solver.max_epoch * 0.5));
  cfg.solver.warmup_start_lr = uniform(0, 0.01);
  cfg.multigrid.long_cycle = pick(true, true, false);
  cfg.multigrid.short_cycle = pick(true, false);
  cfg.multigrid.epoch_factor = uniform(0.8, 2.5);
  cfg.multigrid.bn_base_size = pick(4, 8, 16);
  cfg.multigrid.stride = pick(long_cycle_stride::drawn, long_cycle_stride::drawn,
                              long_cycle_stride::base_span, long_cycle_stride::base_stride);
  return cfg;
}

}  // namespace

TEST_CASE("Properties of 3000 random valid configurations") {
  std::mt19937 random(20240617);
  int long_cycle_configs = 0;
  for (int trial = 0; trial < 3000; ++trial) {
    const auto cfg = random_config(random);
    CAPTURE(trial);
    REQUIRE(validate(cfg).empty());
    const auto schedule = make_epoch_schedule(cfg);
    const double base_volume = static_cast<double>(cfg.data.num_frames) * cfg.data.train_crop_size *
                               cfg.data.train_crop_size;

    // Stages are contiguous, epochs monotone, the last ends at MAX_EPOCH.
    int previous_end = 0;
    for (const auto& stage : schedule.stages) {
      CHECK(stage.begin_epoch == previous_end);
      CHECK(stage.end_epoch >= stage.begin_epoch);
      previous_end = stage.end_epoch;
    }
    CHECK(previous_end == schedule.max_epoch);
    CHECK(std::is_sorted(schedule.steps.begin(), schedule.steps.end()));
    CHECK(schedule.relative_lrs.size() >= schedule.steps.size());

    if (cfg.multigrid.long_cycle) {
      ++long_cycle_configs;
      // Clips x frames x pixels per batch stays near the base shape's (within the rounding of the
      // relative batch).
      for (const auto& stage : schedule.stages) {
        const double volume =
            static_cast<double>(stage.batch_factor) * stage.num_frames * stage.crop * stage.crop;
        CHECK(volume / base_volume == doctest::Approx(1).epsilon(0.35));
      }
      // Whatever LONG_CYCLE_STRIDE says, a clip's stride is at least the base one and no clip
      // spans more of the video than a base clip.
      const int tau = cfg.data.sampling_rate;
      for (const auto& settings : make_all_stage_settings(cfg, schedule)) {
        const auto [lowest, highest] = settings.sampling_rate;
        CHECK(tau <= lowest);
        CHECK(lowest <= highest);
        CHECK(highest * settings.base.num_frames <= tau * cfg.data.num_frames);
      }
      // Within a cycled LR stage every shape trains about the same number of iterations: epochs
      // divided by the mean batch agree within the rounding of whole epochs.
      const double total = cfg.solver.max_epoch * cfg.multigrid.epoch_factor;
      CHECK(schedule.max_epoch == doctest::Approx(total).epsilon(0.01 + 1.0 / total));
    }

    const learning_rate_schedule lr(cfg, schedule);
    if (cfg.solver.warmup_epochs > 0) {
      const double w = cfg.solver.warmup_epochs;
      CHECK(lr.at(w - 1e-9) == doctest::Approx(lr.at(w)).epsilon(1e-6));
    }
    for (int e = 0; e < schedule.max_epoch; e += 3) CHECK(std::isfinite(lr.at(e)));

    // The plan over a dataset large enough for every stage.
    const std::int64_t samples = 40000 + trial;
    const plan p(cfg, samples);
    std::int64_t global = 0;
    for (int e = 0; e < p.epochs(); ++e) {
      REQUIRE(p.first_iteration_of_epoch(e) == global);
      global += p.iterations_in_epoch(e);
    }
    CHECK(global == p.total_iterations());
    if (p.total_iterations() > 0) {
      std::uniform_int_distribution<std::int64_t> any(0, p.total_iterations() - 1);
      for (int probe = 0; probe < 5; ++probe) {
        const auto step = p.at(any(random));
        const auto again = p.at(step.epoch, step.iteration);
        CHECK(again.global_iteration == step.global_iteration);
        CHECK(step.shape.per_gpu_batch * cfg.devices() == step.shape.global_batch);
      }
    }
  }
  CHECK(long_cycle_configs > 1000);
}

TEST_CASE(
    "Long cycle: every shape of a cycled LR stage gets the same iterations, within rounding") {
  std::mt19937 random(99);
  int compared = 0;
  for (int trial = 0; trial < 2000; ++trial) {
    CAPTURE(trial);
    auto cfg = random_config(random);
    cfg.multigrid.long_cycle = true;
    if (cfg.solver.steps.size() < 2) continue;
    const plan p(cfg, 1000000);
    for (std::size_t k = 0; k + 1 < cfg.solver.steps.size(); ++k) {
      std::vector<const plan_stage*> shapes;
      for (const auto& stage : p.stages()) {
        if (stage.schedule.lr_stage == static_cast<int>(k) && !stage.schedule.fine_tune) {
          shapes.push_back(&stage);
        }
      }
      // Each stage's length is off by less than one epoch after the cumulative rounding.
      for (const auto* a : shapes) {
        for (const auto* b : shapes) {
          const double slack =
              static_cast<double>(a->iterations_per_epoch + b->iterations_per_epoch);
          const double difference =
              std::fabs(static_cast<double>(a->iterations() - b->iterations()));
          CHECK(difference <= slack * 1.01 + 2);
          ++compared;
        }
      }
    }
  }
  CHECK(compared > 1000);
}

TEST_CASE(
    "Sampler over random shards: exact length, indices at most once, same sizes on every rank") {
  std::mt19937 random(5);
  for (int trial = 0; trial < 1000; ++trial) {
    const int world = std::uniform_int_distribution<int>(1, 8)(random);
    const int samples = std::uniform_int_distribution<int>(0, 3000)(random);
    const int base = std::uniform_int_distribution<int>(1, 16)(random);
    const int cycle = std::uniform_int_distribution<int>(0, 1)(random) ? 3 : 1;
    const int sizes[3] = {cycle == 3 ? base * 4 : base, base * 2, base};
    std::vector<int> permutation(static_cast<std::size_t>(samples));
    std::iota(permutation.begin(), permutation.end(), 0);
    std::shuffle(permutation.begin(), permutation.end(), random);

    std::vector<std::vector<std::size_t>> size_sequences;
    std::set<int> used;
    std::size_t total_used = 0;
    for (int rank = 0; rank < world; ++rank) {
      std::vector<int> shard;
      copy_rank_shard(permutation.begin(), permutation.end(), rank, world,
                      std::back_inserter(shard));
      short_cycle_batch_sampler sampler(shard.begin(), shard.end(), sizes, cycle);
      std::vector<std::size_t> sequence;
      std::size_t count = 0;
      for (const auto batch : sampler) {
        sequence.push_back(batch.size());
        CHECK(batch.size() == static_cast<std::size_t>(sizes[batch.shape_index]));
        used.insert(batch.begin(), batch.end());
        total_used += batch.size();
        ++count;
      }
      CHECK(count == sampler.size());
      CHECK(count == batches_in_epoch(shard.size(), sizes, cycle));
      // Exact: what is left over cannot make one more batch.
      const std::size_t consumed =
          std::accumulate(sequence.begin(), sequence.end(), std::size_t{0});
      CHECK(shard.size() - consumed < static_cast<std::size_t>(sizes[count % cycle]));
      size_sequences.push_back(sequence);
    }
    CHECK(used.size() == total_used);  // no index twice
    for (const auto& sequence : size_sequences) CHECK(sequence == size_sequences.front());
  }
}
