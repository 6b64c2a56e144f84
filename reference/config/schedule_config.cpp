#include "config/schedule_config.hpp"

#include <array>
#include <cstddef>
#include <multigrid/validation.hpp>
#include <string>

namespace multigrid::reference {
namespace {

std::array<int, 2> read_pair(const config_tree& tree, const key<std::vector<int>>& handle) {
  const auto values = tree.get(handle);
  if (values.size() != 2) tree.fail(handle, "must be a list of two integers [min, max]");
  return {values[0], values[1]};
}

/// "use a, b or c", from the names of every value a key may take.
template <typename Enum, std::size_t N, typename NameOf>
std::string use_one_of(const std::array<Enum, N>& all, NameOf name_of) {
  std::string text = "use ";
  for (std::size_t i = 0; i < N; ++i) {
    if (i > 0) text += i + 1 == N ? " or " : ", ";
    text += name_of(all[i]);
  }
  return text;
}

multigrid::batch_norm_type read_norm_type(const config_tree& tree) {
  const auto name = tree.get(keys::bn_norm_type);
  if (name == "batchnorm" || name == "sync_batchnorm_apex")
    return multigrid::batch_norm_type::plain;
  if (name == "sub_batchnorm") return multigrid::batch_norm_type::sub_batch;
  if (name == "sync_batchnorm") return multigrid::batch_norm_type::synchronized;
  tree.fail(keys::bn_norm_type, "use batchnorm, sub_batchnorm or sync_batchnorm");
}

}  // namespace

multigrid::config read_schedule_config(const config_tree& tree) {
  multigrid::config cfg;
  cfg.num_gpus = tree.get(keys::num_gpus);
  cfg.batch_size = tree.get(keys::train_batch_size);

  auto& data = cfg.data;
  data.num_frames = tree.get(keys::data_num_frames);
  data.sampling_rate = tree.get(keys::data_sampling_rate);
  data.train_crop_size = tree.get(keys::data_train_crop_size);
  data.train_jitter_scales = read_pair(tree, keys::data_train_jitter_scales);

  auto& solver = cfg.solver;
  solver.base_lr = tree.get(keys::solver_base_lr);
  const auto policy = parse_lr_policy(tree.get(keys::solver_lr_policy));
  if (!policy) {
    tree.fail(keys::solver_lr_policy, "unknown policy; " + use_one_of(multigrid::all_lr_policies,
                                                                      multigrid::lr_policy_name));
  }
  solver.policy = *policy;
  solver.steps = tree.get(keys::solver_steps);
  solver.lrs = tree.get(keys::solver_lrs);
  solver.max_epoch = tree.get(keys::solver_max_epoch);
  solver.gamma = tree.get(keys::solver_gamma);
  solver.warmup_epochs = tree.get(keys::solver_warmup_epochs);
  solver.warmup_start_lr = tree.get(keys::solver_warmup_start_lr);
  solver.cosine_end_lr = tree.get(keys::solver_cosine_end_lr);
  solver.cosine_after_warmup = tree.get(keys::solver_cosine_after_warmup);

  auto& mg = cfg.multigrid;
  mg.long_cycle = tree.get(keys::multigrid_long_cycle);
  mg.short_cycle = tree.get(keys::multigrid_short_cycle);
  mg.epoch_factor = tree.get(keys::multigrid_epoch_factor);
  mg.long_cycle_factors.clear();
  for (const auto& row : tree.get(keys::multigrid_long_cycle_factors)) {
    if (row.size() != 2) {
      tree.fail(keys::multigrid_long_cycle_factors,
                "each entry must be a pair [temporal, spatial] such as [0.25, 0.7071]");
    }
    mg.long_cycle_factors.push_back({row[0], row[1]});
  }
  const auto short_factors = tree.get(keys::multigrid_short_cycle_factors);
  if (short_factors.size() != 2) {
    tree.fail(keys::multigrid_short_cycle_factors,
              "must be a list of two factors such as [0.5, 0.7071]");
  }
  mg.short_cycle_factors = {short_factors[0], short_factors[1]};
  mg.bn_base_size = tree.get(keys::multigrid_bn_base_size);
  mg.default_s = tree.get(keys::multigrid_default_s);
  mg.eval_freq = tree.get(keys::multigrid_eval_freq);
  mg.min_crop_size = tree.get(keys::multigrid_min_crop_size);
  mg.long_cycle_lr_stages = tree.get(keys::multigrid_long_cycle_lr_stages);
  const auto stride =
      multigrid::parse_long_cycle_stride(tree.get(keys::multigrid_long_cycle_stride));
  if (!stride) {
    tree.fail(keys::multigrid_long_cycle_stride,
              use_one_of(multigrid::all_long_cycle_strides, multigrid::long_cycle_stride_name));
  }
  mg.stride = *stride;

  auto& bn = cfg.batch_norm;
  bn.type = read_norm_type(tree);
  bn.splits = tree.get(keys::bn_num_splits);
  bn.sync_devices = tree.get(keys::bn_num_sync_devices);
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
