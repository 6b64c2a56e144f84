#pragma once
// The checkpoints of a run (OUTPUT_DIR/checkpoints): named by position like PySlowFast's,
// `checkpoint_epoch_00005.ckpt` after five epochs and `checkpoint_epoch_00005_iter_000123.ckpt`
// when stopped 123 iterations into the sixth. Auto-resume takes the newest one that verifies, so
// a damaged newest file falls back to the one before. Old rotating checkpoints are pruned; those
// at multiples of TRAIN.CHECKPOINT_PERIOD epochs are kept.

#include <optional>
#include <string>
#include <vector>

#include "train/checkpoint.hpp"

namespace multigrid::reference {

struct checkpoint_entry {
  std::string path;
  int epoch = 0;                        ///< epochs completed
  std::int64_t iteration_in_epoch = 0;  ///< iterations into the next epoch
};

class checkpoint_directory {
 public:
  explicit checkpoint_directory(std::string folder);

  const std::string& folder() const noexcept { return folder_; }
  /// The file name a checkpoint at `position` gets.
  std::string path_for(const training_position& position) const;

  /// Checkpoints by position, oldest first; other files (temporaries of killed writers) ignored.
  std::vector<checkpoint_entry> list() const;

  /// The newest checkpoint that verifies (header, length, checksum). Each newer one that does not
  /// is described in `skipped` ("path: reason") when given. A newer one of the earlier format
  /// throws legacy_checkpoint_error instead: the run must be converted, not restarted.
  std::optional<std::string> latest(std::vector<std::string>* skipped = nullptr) const;

  /// Writes a checkpoint at state.position (creating the folder), then prunes. Returns its path.
  /// When the write fails the earlier checkpoints are untouched and checkpoint_error is thrown.
  std::string save(const checkpoint_state& state, const checkpoint_parts& parts, int keep_last,
                   int keep_period);

  /// Removes all but the newest `keep_last` checkpoints, except end-of-epoch ones whose epoch
  /// count is a multiple of `keep_period`.
  void prune(int keep_last, int keep_period) const;

  /// Removes the temporary files of writes whose writer is dead (killed mid-write); returns their
  /// paths. A writer that still runs on this machine keeps its file.
  std::vector<std::string> remove_stale_temporaries() const;

 private:
  std::string folder_;
};

}  // namespace multigrid::reference
