#pragma once
// Rounding as the reference computes it. PySlowFast rounds with Python's round(), which sends
// halves to the even neighbour (round(358.5) == 358); std::round sends them away from zero and
// would put the Kinetics schedule's last epoch at 359.

#include <cmath>

namespace multigrid {

/// Rounds to the nearest integer, halves to the even neighbour, independent of the floating-point
/// environment's rounding mode.
inline double round_half_even(double value) noexcept {
  const double away = std::round(value);
  if (std::fabs(value - std::trunc(value)) != 0.5) return away;
  return 2.0 * std::round(value / 2.0);
}

/// Python's int(round(value)) for values that fit in an int.
inline int round_to_int(double value) noexcept {
  return static_cast<int>(round_half_even(value));
}

}  // namespace multigrid
