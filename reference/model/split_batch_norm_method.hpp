#pragma once
// The names of sub-batch BN's three computations (split_batch_norm.hpp), without LibTorch, so that
// the trainer's configuration (BN.SUB_BATCH_COMPUTATION) checks them where the model is not built.

#include <cstddef>
#include <iterator>
#include <stdexcept>
#include <string>

namespace multigrid::reference {

/// The three computations, for the device's default or a run's or benchmark's choice.
enum class split_batch_norm_method { in_place, regrouped, batched };

inline constexpr split_batch_norm_method split_batch_norm_methods[] = {
    split_batch_norm_method::in_place, split_batch_norm_method::regrouped,
    split_batch_norm_method::batched};

/// "in_place", "regrouped" or "batched".
inline const char* split_batch_norm_method_name(split_batch_norm_method method) {
  switch (method) {
    case split_batch_norm_method::in_place:
      return "in_place";
    case split_batch_norm_method::regrouped:
      return "regrouped";
    case split_batch_norm_method::batched:
      return "batched";
  }
  return "unknown";
}

/// The names, as "in_place, regrouped or batched".
inline std::string split_batch_norm_method_choices() {
  std::string choices;
  const auto count = std::size(split_batch_norm_methods);
  for (std::size_t i = 0; i < count; ++i) {
    choices += i == 0 ? "" : i + 1 == count ? " or " : ", ";
    choices += split_batch_norm_method_name(split_batch_norm_methods[i]);
  }
  return choices;
}

/// The computation of that name; an error naming the choices otherwise.
inline split_batch_norm_method split_batch_norm_method_named(const std::string& name) {
  for (const auto method : split_batch_norm_methods) {
    if (name == split_batch_norm_method_name(method)) return method;
  }
  throw std::invalid_argument("sub-batch BN computation '" + name + "': use " +
                              split_batch_norm_method_choices());
}

}  // namespace multigrid::reference
