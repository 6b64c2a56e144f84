#pragma once
// What a checkpoint holds and how it is written and read: the model and the optimizer (through
// callbacks, so the model's own save function, which stores BN as plain BN, plugs in), the plan
// position, the random state, the epoch and evaluation metrics, and the resolved config it was
// made with. Resuming is a lookup: the plan is a function of the config, so the position is all
// the trainer needs to continue at the same iteration, LR, shape and sampler offset.

#include <torch/torch.h>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "model/state_dict.hpp"
#include "train/checkpoint_file.hpp"
#include "train/metrics.hpp"
#include "train/optimizer.hpp"
#include "train/resolved_config.hpp"
#include "train/rng_state.hpp"

namespace multigrid::reference {

/// Where training continues: the next iteration to run.
struct training_position {
  int epoch = 0;                        ///< epochs completed; the epoch to run next
  std::int64_t iteration_in_epoch = 0;  ///< iterations of `epoch` already done
  std::int64_t global_iteration = 0;    ///< iterations done since the start (the plan's index)
  std::int64_t train_samples = 0;       ///< training set size the plan was made for
  double wall_seconds = 0;              ///< training wall-clock so far, earlier resumes included
  /// The losses of `epoch`'s iterations done so far, so that a resumed epoch's mean loss is the
  /// mean over the whole epoch.
  double epoch_loss_sum = 0;
  std::int64_t epoch_losses = 0;

  /// At an epoch's end (no iteration of the next epoch done).
  bool at_epoch_boundary() const noexcept { return iteration_in_epoch == 0; }
};

struct checkpoint_state {
  training_position position;
  std::vector<rng_state> rng;  ///< one per process, by rank (gather_rng_states)
  metrics_history history;     ///< epoch and evaluation records (iterations stay in metrics.jsonl)
  std::string config_yaml;     ///< resolved_config::yaml() of the run
};

/// How the model and the optimizer give their tensors to, and take them back from, the checkpoint.
struct checkpoint_parts {
  std::function<state_dict()> save_model;
  std::function<void(const state_dict&)> load_model;
  std::function<state_dict()> save_optimizer;
  std::function<void(const state_dict&)> load_optimizer;
};

/// The parameters and buffers of `model` by name (use the model's own functions instead where it
/// stores BN differently) and training_optimizer::save/load. Both must outlive the result.
checkpoint_parts module_checkpoint_parts(torch::nn::Module& model, training_optimizer& optimizer);

/// The tensors of `model` by name, and loading them back into the same tensors: every one must be
/// there, with the same shape and dtype; throws std::runtime_error naming the first that is not.
state_dict module_state(const torch::nn::Module& model);
void load_module_state(torch::nn::Module& model, const state_dict& state);

/// Writes the checkpoint atomically (write_checkpoint_file). Its tensors are named `model.<name>`,
/// `optimizer.momentum.<name>` and `rng.<rank>`; the rest is metadata (docs/training.md).
void write_checkpoint(const std::string& path, const checkpoint_state& state,
                      const checkpoint_parts& parts);

/// A checkpoint read from disk, verified and parsed; its model and optimizer are loaded on request.
class opened_checkpoint {
 public:
  /// Throws checkpoint_error naming the file when it is missing, truncated, corrupt, malformed
  /// or not ours (legacy_checkpoint_error for the format before this one).
  explicit opened_checkpoint(const std::string& path);
  /// The same for `bytes` as the content of a file named `path`.
  opened_checkpoint(const std::string& path, std::string bytes);

  const std::string& path() const noexcept { return file_.path(); }
  const checkpoint_state& state() const noexcept { return state_; }

  /// Calls parts.load_model and parts.load_optimizer (either may be empty to skip it); their
  /// errors come back as checkpoint_error naming the file.
  void load(const checkpoint_parts& parts);
  /// The model part only (TRAIN.CHECKPOINT_FILE_PATH: initial weights).
  void load_model(const std::function<void(const state_dict&)>& load_model);
  /// The model's tensors by name (a copy on the CPU).
  state_dict model_state() const;

 private:
  void read_state();

  checkpoint_file file_;
  checkpoint_state state_;
};

/// Keys that must be equal to resume: those config/keys.def declares changes_run (the plan's and
/// the model's). An entry ending in '.' covers a whole section.
std::vector<std::string> resume_sensitive_keys();

/// Refuses to resume when a sensitive key differs between the checkpoint's config and this run's,
/// or when the training set size differs: throws config_error naming the checkpoint, the key and
/// both values. A key the checkpoint's config lacks (a key declared after it was written) counts
/// as its declared default.
void check_resume_compatible(const opened_checkpoint& checkpoint, const resolved_config& current,
                             std::int64_t train_samples,
                             const std::vector<std::string>& keys = resume_sensitive_keys());

}  // namespace multigrid::reference
