#include <doctest/doctest.h>

#include <cfenv>
#include <multigrid/rounding.hpp>

using multigrid::round_half_even;

TEST_CASE("round_half_even sends halves to the even neighbour, as Python's round() does") {
  CHECK(round_half_even(358.5) == 358);
  CHECK(round_half_even(359.5) == 360);
  CHECK(round_half_even(0.5) == 0);
  CHECK(round_half_even(1.5) == 2);
  CHECK(round_half_even(2.5) == 2);
  CHECK(round_half_even(-2.5) == -2);
  CHECK(round_half_even(-3.5) == -4);
}

TEST_CASE("round_half_even rounds non-halves to the nearest integer") {
  CHECK(round_half_even(158.39) == 158);
  CHECK(round_half_even(180.57) == 181);
  CHECK(round_half_even(2.4999999999) == 2);
  CHECK(round_half_even(2.5000000001) == 3);
  CHECK(round_half_even(-0.4) == 0);
  CHECK(round_half_even(7.0) == 7);
}

TEST_CASE("round_half_even does not depend on the floating-point rounding mode") {
  const int saved = std::fegetround();
  std::fesetround(FE_UPWARD);
  const double half = 358.5;
  const double up = round_half_even(half);
  std::fesetround(FE_DOWNWARD);
  const double down = round_half_even(359.5);
  std::fesetround(saved);
  CHECK(up == 358);
  CHECK(down == 360);
}
