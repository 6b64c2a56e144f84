// A training loop in plain C++ that takes every multigrid decision from the library. The "model"
// here is a stand-in with a BatchNorm's statistics; a real code base puts its own framework's calls
// where the comments say.

#include <algorithm>
#include <cstdio>
#include <multigrid/multigrid.hpp>
#include <numeric>
#include <random>
#include <vector>

int main() {
  // 1. The configuration: PySlowFast's keys (here SlowFast-R50 8x8 on 8 GPUs, scaled down).
  multigrid::config cfg;
  cfg.num_gpus = 8;
  cfg.batch_size = 64;
  cfg.data.num_frames = 32;
  cfg.data.sampling_rate = 2;
  cfg.solver.policy = multigrid::lr_policy::steps_with_relative_lrs;
  cfg.solver.steps = {0, 8, 12};
  cfg.solver.max_epoch = 16;
  cfg.solver.warmup_epochs = 2;
  cfg.multigrid.long_cycle = true;
  cfg.multigrid.short_cycle = true;

  // 2. The plan: a pure function of the config and the dataset size. Throws invalid_config.
  const std::int64_t train_videos = 20000;
  const multigrid::plan plan(cfg, train_videos);
  const int rank = 3;  // this process

  // The BatchNorm statistics of one layer with 4 channels, kept per split as sub-BN does.
  const std::size_t channels = 4;
  std::vector<float> split_mean;
  std::vector<float> split_variance;
  int splits = 1;

  std::vector<std::int64_t> all(static_cast<std::size_t>(train_videos));
  std::vector<std::int64_t> shard;
  std::int64_t clips = 0;
  for (int epoch = 0; epoch < plan.epochs(); ++epoch) {
    // 3. Every rank shuffles with the same seed, then takes its own shard.
    std::iota(all.begin(), all.end(), 0);
    std::shuffle(all.begin(), all.end(), std::mt19937_64(1000 + epoch));
    shard.clear();
    multigrid::copy_rank_shard(all.begin(), all.end(), rank, cfg.devices(),
                               std::back_inserter(shard));

    // 4. Batches of the short cycle: sizes come from the epoch's stage.
    const auto& stage =
        plan.stages()[static_cast<std::size_t>(plan.stage_of_epoch(epoch))].settings;
    int sizes[3];
    for (int m = 0; m < stage.cycle_length; ++m) sizes[m] = stage.cycle[m].per_gpu_batch;
    const multigrid::short_cycle_batch_sampler sampler(shard.begin(), shard.end(), sizes,
                                                       stage.cycle_length);

    std::int64_t iteration = 0;
    for (const auto batch : sampler) {
      const auto step = plan.at(epoch, iteration++);
      if (step.stage_begins) {
        // 5. A new stage: apply its BN mode in place (sub-BN splits, plain, or sync-BN groups).
        splits = step.settings->batch_norm.splits;
        split_mean.assign(channels * splits, 0.0f);
        split_variance.assign(channels * splits, 1.0f);
        const auto& base = step.settings->base;
        const auto bn = multigrid::batch_norm_type_name(step.settings->batch_norm.type);
        std::printf("epoch %3d stage %2d: %3d clips x %2d frames x %3d px, BN %.*s x%d, lr %.4f\n",
                    epoch, step.stage, base.per_gpu_batch, base.num_frames, base.crop,
                    static_cast<int>(bn.size()), bn.data(), splits, step.lr);
      }
      // 6. Decode batch.size() clips of step.shape (frames, crop, jitter), each with a temporal
      //    stride drawn from step.settings->sampling_rate; set the optimizer's LR to step.lr; run
      //    forward, backward and the optimizer step here.
      clips += static_cast<std::int64_t>(batch.size());
    }

    // 7. End of epoch: pool the split statistics into the BN used for evaluation.
    std::vector<float> mean(channels);
    std::vector<float> variance(channels);
    multigrid::pool_split_statistics(split_mean.data(), split_variance.data(),
                                     static_cast<std::size_t>(splits), channels, mean.data(),
                                     variance.data());
  }
  std::printf("trained %lld clips in %lld iterations over %d epochs\n",
              static_cast<long long>(clips), static_cast<long long>(plan.total_iterations()),
              plan.epochs());
  return 0;
}
