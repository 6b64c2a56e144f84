#pragma once
// multigrid-train's run: the training loop, written out. Every iteration asks the library's plan
// for its shape, batch and LR; at a stage change the model's BN mode changes in place (no rebuild,
// optimizer state kept); after each epoch precise BN, sub-BN pooling, a checkpoint and, on
// PySlowFast's evaluation epochs, a single-view validation; at the end the multi-view test and the
// report. A run resumes from its newest checkpoint at the exact iteration.

#include <cstdio>
#include <optional>
#include <stdexcept>
#include <string>

#include "config/config_tree.hpp"
#include "train/evaluation.hpp"

namespace multigrid::reference {

/// The run cannot go on (a non-finite loss, a broken dataset, a failed peer); the message says why
/// and where. The last good checkpoint is kept.
class training_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

enum class resume_mode {
  automatic,  ///< resume when OUTPUT_DIR has a checkpoint and TRAIN.AUTO_RESUME is on
  always,     ///< resume, failing when there is no checkpoint
  never,      ///< start afresh (existing checkpoints are left alone, and later overwritten)
};

struct trainer_options {
  resume_mode resume = resume_mode::automatic;
  std::FILE* out = stdout;  ///< progress and messages (rank 0)
  std::string label;        ///< the run's name in messages and the report; default: OUTPUT_DIR
  /// Stop after this many epochs are done (a checkpoint is written at every epoch's end), as a job
  /// with a time limit would: running again resumes. Negative: train to the end.
  int stop_after_epochs = -1;
};

struct training_outcome {
  bool completed = false;  ///< trained every epoch (else stopped by a signal or stop_after_epochs)
  int stop_signal = 0;     ///< stopped early by this signal, after writing a checkpoint
  std::string output_dir;
  int epochs = 0;               ///< epochs of the schedule
  std::int64_t iterations = 0;  ///< iterations of the schedule (per process)
  double train_seconds = 0;     ///< training wall-clock, resumes included, evaluation excluded
  double total_seconds = 0;     ///< everything this process did in this call
  std::optional<evaluation_result> validation;  ///< the last one
  std::optional<evaluation_result> test;        ///< the final multi-view test
  double final_loss = 0;                        ///< mean training loss of the last epoch
};

/// Runs (or resumes) the training that `tree` configures. Throws config_error for bad
/// configuration, training_error when training cannot go on.
training_outcome run_training(const config_tree& tree, const trainer_options& options);

}  // namespace multigrid::reference
