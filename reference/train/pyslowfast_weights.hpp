#pragma once
// PySlowFast's weights files (`.pyth`): `torch.save` of a dict whose "model_state" maps
// PySlowFast's parameter names to tensors, BatchNorm stored as plain BN. Our model uses the same
// names (model_state.hpp), so importing is PySlowFast's own conversions (sub-BN to plain BN, a
// "module." prefix left by DistributedDataParallel) and exporting adds the BN counters PyTorch's
// BatchNorm3d has and ours does not.
//
// Weights files come from the internet, so reading one is safe on any bytes: torch_save_file.hpp
// parses the zip container and the pickle with our own restricted readers, not LibTorch's
// unpickler (which crafted bytes crash). They accept what `torch.save` writes for a checkpoint:
// dicts and OrderedDicts (what `state_dict()` returns), lists, tuples, strings, numbers and
// tensors, and refuse any other class or function a pickle names, naming the file and the defect.

#include <string>
#include <vector>

#include "model/state_dict.hpp"

namespace multigrid::reference {

/// The first bytes of a zip file, as `torch.save` writes, or of a `torch.save` file of the format
/// before PyTorch 1.6 (which is refused with how to rewrite it): how a `.pyth` is recognised.
bool looks_like_torch_save(const std::string& path);

/// Reads `path`, a `torch.save` file of PyTorch 1.6 or later, and returns its "model_state" (or,
/// for a file that is a bare state dict, the dict itself) under our names (from_pyslowfast_names).
/// The rest of a PySlowFast checkpoint ("epoch", "optimizer_state", "cfg") is parsed and left.
/// Throws checkpoint_error naming the file when it is damaged, not a dict, names a callable off
/// the list, or its state dict is not tensors under string names.
state_dict read_pyslowfast_weights(const std::string& path);
/// Reads `bytes` as the content of a weights file named `path` (which is only used in messages).
state_dict read_pyslowfast_weights(const std::string& path, std::string bytes);

/// PySlowFast's names to ours: strips a leading "module.", turns sub-BN entries into plain BN as
/// PySlowFast's sub_to_normal_bn does (`bn.bn.running_*` to `bn.running_*`, the `split_bn`
/// copies dropped, (C, 1, 1, 1) scales flattened), and drops `num_batches_tracked`, which our BN
/// does not have.
state_dict from_pyslowfast_names(const state_dict& state);

/// Ours to PySlowFast's plain-BN layout: every BN (a name ending in `running_mean`) gets its
/// `num_batches_tracked` (0), so that `load_state_dict` with strict=True accepts the dict.
state_dict to_pyslowfast_names(const state_dict& state);

/// Writes {"model_state": state, "epoch": epoch} as `torch.save` does (a zip that `torch.load`
/// reads), atomically. Throws checkpoint_error naming the file.
void write_pyslowfast_weights(const std::string& path, const state_dict& state, int epoch);

}  // namespace multigrid::reference
