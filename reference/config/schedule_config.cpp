#include "config/schedule_config.hpp"

#include <multigrid/validation.hpp>

namespace multigrid::reference {
namespace {

std::array<int, 2> read_pair(const config_tree& tree, const std::string& key,
                             const std::array<int, 2>& fallback) {
  const auto values = tree.get_int_list(key, {fallback[0], fallback[1]});
  if (values.size() != 2) tree.fail(key, "must be a list of two integers [min, max]");
  return {values[0], values[1]};
}

}  // namespace

multigrid::config read_schedule_config(const config_tree& tree) {
  multigrid::config cfg;
  cfg.num_gpus = tree.get_int("NUM_GPUS", cfg.num_gpus);
  cfg.batch_size = tree.get_int("TRAIN.BATCH_SIZE", cfg.batch_size);

  auto& data = cfg.data;
  data.num_frames = tree.get_int("DATA.NUM_FRAMES", data.num_frames);
  data.sampling_rate = tree.get_int("DATA.SAMPLING_RATE", data.sampling_rate);
  data.train_crop_size = tree.get_int("DATA.TRAIN_CROP_SIZE", data.train_crop_size);
  data.train_jitter_scales = read_pair(tree, "DATA.TRAIN_JITTER_SCALES", data.train_jitter_scales);

  auto& solver = cfg.solver;
  solver.base_lr = tree.get_double("SOLVER.BASE_LR", solver.base_lr);
  const auto policy_name =
      tree.get_string("SOLVER.LR_POLICY", std::string(lr_policy_name(solver.policy)));
  const auto policy = parse_lr_policy(policy_name);
  if (!policy) {
    tree.fail("SOLVER.LR_POLICY",
              "unknown policy; use cosine, cosine_batch_scaled, steps or steps_with_relative_lrs");
  }
  solver.policy = *policy;
  solver.steps = tree.get_int_list("SOLVER.STEPS", solver.steps);
  solver.lrs = tree.get_double_list("SOLVER.LRS", solver.lrs);
  solver.max_epoch = tree.get_int("SOLVER.MAX_EPOCH", solver.max_epoch);
  solver.gamma = tree.get_double("SOLVER.GAMMA", solver.gamma);
  solver.warmup_epochs = tree.get_double("SOLVER.WARMUP_EPOCHS", solver.warmup_epochs);
  solver.warmup_start_lr = tree.get_double("SOLVER.WARMUP_START_LR", solver.warmup_start_lr);
  solver.cosine_end_lr = tree.get_double("SOLVER.COSINE_END_LR", solver.cosine_end_lr);
  solver.cosine_after_warmup =
      tree.get_bool("SOLVER.COSINE_AFTER_WARMUP", solver.cosine_after_warmup);

  auto& mg = cfg.multigrid;
  mg.long_cycle = tree.get_bool("MULTIGRID.LONG_CYCLE", mg.long_cycle);
  mg.short_cycle = tree.get_bool("MULTIGRID.SHORT_CYCLE", mg.short_cycle);
  mg.epoch_factor = tree.get_double("MULTIGRID.EPOCH_FACTOR", mg.epoch_factor);
  std::vector<std::vector<double>> default_factors;
  for (const auto& factor : mg.long_cycle_factors) {
    default_factors.push_back({factor.temporal, factor.spatial});
  }
  const auto factors = tree.get_double_table("MULTIGRID.LONG_CYCLE_FACTORS", default_factors);
  mg.long_cycle_factors.clear();
  for (const auto& row : factors) {
    if (row.size() != 2) {
      tree.fail("MULTIGRID.LONG_CYCLE_FACTORS",
                "each entry must be a pair [temporal, spatial] such as [0.25, 0.7071]");
    }
    mg.long_cycle_factors.push_back({row[0], row[1]});
  }
  const auto short_factors = tree.get_double_list(
      "MULTIGRID.SHORT_CYCLE_FACTORS", {mg.short_cycle_factors[0], mg.short_cycle_factors[1]});
  if (short_factors.size() != 2) {
    tree.fail("MULTIGRID.SHORT_CYCLE_FACTORS", "must be a list of two factors such as [0.5, 0.7071]");
  }
  mg.short_cycle_factors = {short_factors[0], short_factors[1]};
  mg.bn_base_size = tree.get_int("MULTIGRID.BN_BASE_SIZE", mg.bn_base_size);
  mg.default_s = tree.get_int("MULTIGRID.DEFAULT_S", mg.default_s);
  mg.eval_freq = tree.get_int("MULTIGRID.EVAL_FREQ", mg.eval_freq);
  mg.min_crop_size = tree.get_int("MULTIGRID.MIN_CROP_SIZE", mg.min_crop_size);
  return cfg;
}

void check_schedule_config(const config_tree& tree, const multigrid::config& cfg) {
  const auto errors = multigrid::validate(cfg);
  if (errors.empty()) return;
  std::string text = "invalid configuration (" + tree.source_name() + "):";
  for (const auto& error : errors) {
    // The library names the key, possibly with an index; find where its base key was written.
    const auto base_key = error.field.substr(0, error.field.find('['));
    const auto where = tree.origin(base_key);
    text += "\n  " + (where.empty() ? std::string("default") : where) + ": " + error.to_string();
  }
  throw config_error(text);
}

}  // namespace multigrid::reference
