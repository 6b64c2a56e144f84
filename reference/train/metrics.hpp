#pragma once
// The run's metrics as JSON lines (OUTPUT_DIR/metrics.jsonl): one object per iteration, per epoch
// and per evaluation, each written with a single append so that a crash loses at most the line
// being written. The report is built from this file alone, so it can be regenerated from a
// finished or crashed run. Every record carries `step`, the number of iterations done when it was
// written, which is how a resumed run drops the records of iterations it is about to redo.

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace multigrid::reference {

/// A metrics file that cannot be read; the message names the file and line.
class metrics_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// Whether top-5 accuracy says anything: with five classes or fewer every video is in the top five.
/// 0 classes: not known (shown).
constexpr bool top5_informative(int num_classes) noexcept {
  return num_classes == 0 || num_classes > 5;
}

/// The shape an iteration trained with (short cycle applied).
struct batch_shape {
  int per_process_batch = 0;  ///< clips per process
  int global_batch = 0;       ///< clips over all processes
  int frames = 0;             ///< fast-pathway frames
  int crop = 0;               ///< spatial size in pixels
};

struct iteration_metrics {
  int epoch = 0;
  std::int64_t iteration = 0;         ///< within the epoch
  std::int64_t global_iteration = 0;  ///< since the start of training
  int stage = 0;
  batch_shape shape;
  double lr = 0;
  double loss = 0;
  double clips_per_second = 0;  ///< global clips over this iteration's wall-clock
  double data_wait_share = 0;   ///< share of the iteration spent waiting for the loader
  double wall_seconds = 0;      ///< since the start of training, resumes included
};

struct epoch_metrics {
  int epoch = 0;
  int stage = 0;
  std::int64_t iterations = 0;
  std::int64_t step = 0;  ///< iterations done at the end of the epoch
  batch_shape shape;      ///< the long-cycle (base) shape of the epoch
  double lr = 0;          ///< at the epoch's last iteration
  double loss = 0;        ///< mean training loss over the epoch
  double clips_per_second = 0;
  double data_wait_share = 0;
  double epoch_seconds = 0;
  double wall_seconds = 0;
};

struct evaluation_metrics {
  int epoch = 0;              ///< the epoch just trained
  std::int64_t step = 0;      ///< iterations done
  std::string split = "val";  ///< "val": single view during training; "test": the final multi-view
  int views = 1;  ///< views per video (TEST.NUM_ENSEMBLE_VIEWS x NUM_SPATIAL_CROPS for test)
  std::int64_t videos = 0;
  double top1 = 0;  ///< percent
  double top5 = 0;  ///< percent
  double loss = 0;  ///< NaN when not computed
  double wall_seconds = 0;
};

struct metrics_history {
  std::vector<iteration_metrics> iterations;
  std::vector<epoch_metrics> epochs;
  std::vector<evaluation_metrics> evaluations;
};

nlohmann::ordered_json to_json(const iteration_metrics& record);
nlohmann::ordered_json to_json(const epoch_metrics& record);
nlohmann::ordered_json to_json(const evaluation_metrics& record);

/// Appends records to a metrics file (created if absent).
class metrics_log {
 public:
  explicit metrics_log(std::string path);
  ~metrics_log();
  metrics_log(const metrics_log&) = delete;
  metrics_log& operator=(const metrics_log&) = delete;

  void append(const iteration_metrics& record);
  void append(const epoch_metrics& record);
  void append(const evaluation_metrics& record);
  /// Flushes the file to disk (the trainer calls it at each epoch's end).
  void sync();
  const std::string& path() const noexcept { return path_; }

 private:
  void append_line(const nlohmann::ordered_json& record);

  std::string path_;
  int fd_ = -1;
};

/// Reads a metrics file. A torn last line (a crash mid-write) is skipped; any other line that is
/// not a record is a metrics_error naming the file and line. Unknown record types are skipped.
metrics_history read_metrics(const std::string& path);

/// Keeps the records written at or before `step` iterations (atomically rewriting the file): a run
/// resumed from a checkpoint at `step` redoes what came after. A missing file is left missing.
/// Call it before opening the metrics_log: the rewrite replaces the file an open log appends to.
void truncate_metrics(const std::string& path, std::int64_t step);

/// Epoch and evaluation records as one JSON array (what a checkpoint stores), and back.
nlohmann::ordered_json history_to_json(const metrics_history& history);
metrics_history history_from_json(const nlohmann::json& json);

}  // namespace multigrid::reference
