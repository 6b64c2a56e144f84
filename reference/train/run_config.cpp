#include "train/run_config.hpp"

#include <multigrid/epoch_schedule.hpp>

#include "config/schedule_config.hpp"

namespace multigrid::reference {
run_config read_run_config(const config_tree& tree) {
  tree.check_known_keys();
  run_config config{read_schedule_config(tree),     read_train_config(tree),
                    read_data_config(tree),         read_slowfast_options(tree),
                    tree.get(keys::log_model_info), resolved_config(tree)};
  check_schedule_config(tree, config.schedule);
  if (config.model.num_frames % config.model.alpha != 0) {
    tree.fail(keys::data_num_frames,
              "must be a multiple of SLOWFAST.ALPHA (" + std::to_string(config.model.alpha) + ")");
  }
  for (const auto& stage : multigrid::make_epoch_schedule(config.schedule).stages) {
    if (stage.num_frames % config.model.alpha != 0) {
      tree.fail(keys::multigrid_long_cycle_factors,
                "gives clips of " + std::to_string(stage.num_frames) +
                    " frames, not a multiple of SLOWFAST.ALPHA (" +
                    std::to_string(config.model.alpha) + ")");
    }
  }
  add_declared_keys(config.resolved, tree,
                    key_part::schedule | key_part::trainer | key_part::data | key_part::model);
  return config;
}

}  // namespace multigrid::reference
