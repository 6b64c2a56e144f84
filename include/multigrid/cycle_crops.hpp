#pragma once
// The crops of the long and the short cycle, in one place: the long cycle's crop of a spatial
// factor, and the short cycle's crops, which PySlowFast leaves unrounded when it computes batch
// factors. MULTIGRID.MIN_CROP_SIZE (ours, 0 = off) raises every crop below it to it: a crop too
// small for the model's strides teaches nothing about motion (docs/training.md), and the batch
// factors then follow the raised crop, so that B*T*S^2 stays constant.

#include <cstddef>

#include "multigrid/config.hpp"
#include "multigrid/rounding.hpp"

namespace multigrid::detail {

/// The crop of a long-cycle shape with spatial factor `spatial`.
inline int long_cycle_crop(const config& cfg, double spatial) {
  const int crop = round_to_int(cfg.data.train_crop_size * spatial);
  return crop < cfg.multigrid.min_crop_size ? cfg.multigrid.min_crop_size : crop;
}

/// Short-cycle crop m (0 or 1) before rounding, as the batch factors use it.
inline double short_cycle_crop(const config& cfg, std::size_t m) {
  const double crop = cfg.multigrid.short_cycle_factors[m] * cfg.reference_crop();
  const double floor = cfg.multigrid.min_crop_size;
  return crop < floor ? floor : crop;
}

}  // namespace multigrid::detail
