#pragma once
// Reads the keys the schedule depends on (NUM_GPUS, TRAIN.BATCH_SIZE, DATA.*, SOLVER.*,
// MULTIGRID.*) from a PySlowFast-style configuration into the library's multigrid::config. A
// missing key keeps PySlowFast's default.

#include <multigrid/config.hpp>

#include "config/config_tree.hpp"

namespace multigrid::reference {

multigrid::config read_schedule_config(const config_tree& tree);

/// Validates with the library and rethrows its errors as one config_error whose lines each name
/// a key, its value and where it was written.
void check_schedule_config(const config_tree& tree, const multigrid::config& cfg);

}  // namespace multigrid::reference
