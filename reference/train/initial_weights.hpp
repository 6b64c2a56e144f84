#pragma once
// Weights to start from (TRAIN.CHECKPOINT_FILE_PATH) or to test (TEST.CHECKPOINT_FILE_PATH) that
// are not this run's checkpoints: a multigrid checkpoint's model, a `.safetensors` file of
// PySlowFast names (multigrid-export-weights writes one), or a PySlowFast `.pyth` (read by our
// restricted reader: pyslowfast_weights.hpp). As PySlowFast's TRAIN.CHECKPOINT_TYPE pytorch
// loading does, a classifier of another number of classes is left as initialised; unlike it, any
// other name or shape that does not fit is an error, so that a file of another architecture
// cannot half-load.

#include <string>
#include <vector>

#include "model/slowfast.hpp"
#include "model/state_dict.hpp"

namespace multigrid::reference {

/// The model's tensors in the file at `path`, under our names, whatever its format. Throws
/// checkpoint_error naming the file.
state_dict read_weights_file(const std::string& path);

/// Loads `state` (read from `path`) into `model`. Returns the names left as initialised: the
/// classifier's, when its shape differs. Throws checkpoint_error naming the file and the first
/// tensor that is missing, unknown to the model, or of another shape or dtype.
std::vector<std::string> load_weights(SlowFast& model, const state_dict& state,
                                      const std::string& path);

}  // namespace multigrid::reference
