#include "config/shared_readers.hpp"

namespace multigrid::reference {

int read_test_spatial_crops(const config_tree& tree) {
  const int crops = tree.get(keys::test_num_spatial_crops);
  if (crops != 1 && crops != 3) {
    tree.fail(keys::test_num_spatial_crops, "must be 1 (centre) or 3 (left, centre, right)");
  }
  return crops;
}

int read_test_ensemble_views(const config_tree& tree) {
  const int views = tree.get(keys::test_num_ensemble_views);
  if (views < 1) tree.fail(keys::test_num_ensemble_views, "must be at least 1");
  return views;
}

}  // namespace multigrid::reference
