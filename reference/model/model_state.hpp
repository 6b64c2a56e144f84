#pragma once
// Checkpointing the model's weights and BN statistics. The state is always that of plain BN
// layers: pending split statistics are pooled before saving, and loading tiles the statistics
// into however many splits each layer has now. A state saved at any split count therefore loads
// at any other. Keys are the parameters' and buffers' dotted paths, PySlowFast's names.

#include <torch/torch.h>

#include <stdexcept>

#include "model/slowfast.hpp"

namespace multigrid::reference {

/// A checkpoint that does not fit the model: a tensor missing or of another shape.
class model_state_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// Writes every parameter and buffer under its path (pools pending split statistics first).
void save_model_state(SlowFast& model, torch::serialize::OutputArchive& archive);

/// Reads every parameter and buffer of the model from `archive` into the existing tensors (same
/// objects, so an optimizer keeps pointing at them) and tiles BN statistics into the splits.
/// Throws model_state_error naming the key of a missing tensor or one of the wrong shape; the
/// model is unchanged then.
void load_model_state(SlowFast& model, torch::serialize::InputArchive& archive);

}  // namespace multigrid::reference
