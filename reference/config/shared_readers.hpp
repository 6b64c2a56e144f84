#pragma once
// Keys that more than one part reads, with their one check: the trainer and the loader both need
// the test views.

#include "config/config_tree.hpp"

namespace multigrid::reference {

/// TEST.NUM_SPATIAL_CROPS: 1 (centre) or 3 (left, centre, right).
int read_test_spatial_crops(const config_tree& tree);
/// TEST.NUM_ENSEMBLE_VIEWS: at least 1.
int read_test_ensemble_views(const config_tree& tree);

}  // namespace multigrid::reference
