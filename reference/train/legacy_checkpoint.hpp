#pragma once
// Checkpoints of the earlier format (format 1: a LibTorch archive behind a 64-byte header that
// starts "MGCKPT\0\1"), rewritten in the current one. Reading them runs LibTorch's unpickler,
// which a crafted file can crash, so the trainer no longer does: this conversion, for files the
// user trusts, is the only reader left (multigrid-export-weights --from-legacy).

#include <string>

namespace multigrid::reference {

/// Reads the format-1 checkpoint `from` and writes everything it holds (model, momentum buffers,
/// position, random states, metrics, config) to `to` in the current format. Throws
/// checkpoint_error naming the file.
void convert_legacy_checkpoint(const std::string& from, const std::string& to);

}  // namespace multigrid::reference
