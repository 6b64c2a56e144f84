#pragma once
// Checkpointing the model's weights and BN statistics. The state is always that of plain BN
// layers: pending split statistics are pooled before saving, and loading tiles the statistics
// into however many splits each layer has now. A state saved at any split count therefore loads
// at any other. Keys are the parameters' and buffers' dotted paths, PySlowFast's names.

#include <torch/torch.h>

#include <stdexcept>

#include "model/slowfast.hpp"
#include "model/state_dict.hpp"

namespace multigrid::reference {

/// A checkpoint that does not fit the model: a tensor missing or of another shape.
class model_state_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// Every parameter and buffer under its path (pools pending split statistics first). The tensors
/// are the model's own, detached: copy them before the model trains on.
state_dict save_model_state(SlowFast& model);

/// Copies every parameter and buffer of the model from `state` into the existing tensors (same
/// objects, so an optimizer keeps pointing at them) and tiles BN statistics into the splits.
/// Throws model_state_error naming the key of a missing tensor or one of another shape or dtype;
/// the model is unchanged then. Names the model lacks are ignored (the caller checks them where
/// they matter: pyslowfast_weights.hpp).
void load_model_state(SlowFast& model, const state_dict& state);

}  // namespace multigrid::reference
