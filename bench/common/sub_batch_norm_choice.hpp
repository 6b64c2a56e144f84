#pragma once
// MULTIGRID_BENCH_SUB_BN: which of sub-batch BN's computations (split_batch_norm.hpp) a
// benchmark's model uses, so that one build times them against each other.

#include <stdexcept>
#include <string>

#include "common/bench_environment.hpp"
#include "model/split_batch_norm.hpp"

namespace multigrid::bench {

/// Applies MULTIGRID_BENCH_SUB_BN (in_place, regrouped or batched; unset: the device's default)
/// and returns the name of the computation `device` now uses, for the benchmark's label.
inline std::string choose_sub_batch_norm_from_environment(const torch::Device& device) {
  const auto name = environment("MULTIGRID_BENCH_SUB_BN", "");
  if (!name.empty()) {
    try {
      reference::choose_split_batch_norm_method(reference::split_batch_norm_method_named(name));
    } catch (const std::invalid_argument& error) {
      throw std::invalid_argument(std::string("MULTIGRID_BENCH_SUB_BN: ") + error.what());
    }
  }
  return reference::split_batch_norm_method_name(reference::split_batch_norm_method_for(device));
}

}  // namespace multigrid::bench
