#pragma once
// Everything a training run is configured by, read at once from one PySlowFast-style config: the
// schedule (the library's config), the trainer's keys, the dataset and loader keys, and the model.
// Each part's reader checks its own keys; this adds the checks between parts and the resolved
// config that is printed, saved and compared on resume.

#include <multigrid/config.hpp>

#include "config/config_tree.hpp"
#include "data/data_config.hpp"
#include "model/slowfast_options.hpp"
#include "train/resolved_config.hpp"
#include "train/train_config.hpp"

namespace multigrid::reference {

struct run_config {
  multigrid::config schedule;
  train_config train;
  data_config data;
  slowfast_options model;
  bool log_model_info = true;  ///< LOG_MODEL_INFO: print parameters and multiply-adds per shape
  resolved_config resolved;
};

/// Throws config_error naming the key, value and where it was written.
run_config read_run_config(const config_tree& tree);

}  // namespace multigrid::reference
