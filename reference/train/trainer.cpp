#include "train/trainer.hpp"

#include <cerrno>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <memory>
#include <multigrid/evaluation_schedule.hpp>
#include <multigrid/plan.hpp>
#include <multigrid/plateau_warning.hpp>
#include <mutex>
#include <optional>
#include <thread>

#include "compat/torch_compat.hpp"
#include "config/config_keys.hpp"
#if MULTIGRID_WITH_CUDA
#include <c10/cuda/CUDAFunctions.h>
#endif
#include "data/annotation_format.hpp"
#include "data/clip_loader.hpp"
#include "data/dataset_error.hpp"
#include "model/model_state.hpp"
#include "model/model_summary.hpp"
#include "model/precise_batch_norm.hpp"
#include "model/slowfast.hpp"
#include "model/spatial_strides.hpp"
#include "model/split_batch_norm.hpp"
#include "report/atomic_file.hpp"
#include "report/schedule_report.hpp"
#include "train/batch_norm_sync_groups.hpp"
#include "train/checkpoint.hpp"
#include "train/checkpoint_directory.hpp"
#include "train/device_selection.hpp"
#include "train/distributed_environment.hpp"
#include "train/error_text.hpp"
#include "train/gradient_all_reducer.hpp"
#include "train/graphed_training_step.hpp"
#include "train/initial_weights.hpp"
#include "train/metrics.hpp"
#include "train/optimizer.hpp"
#include "train/process_group.hpp"
#include "train/progress.hpp"
#include "train/pyslowfast_weights.hpp"
#include "train/rng_state.hpp"
#include "train/run_config.hpp"
#include "train/run_layout.hpp"
#include "train/run_report.hpp"
#include "train/shutdown_signal.hpp"
#include "train/thread_budget.hpp"
#include "train/throughput_meter.hpp"
#include "train/training_step.hpp"

namespace multigrid::reference {
namespace {

// A checkpoint that cannot be read is bad input, as a bad config value is: the run ends with the
// file's name, what is wrong with it, and exit status 2, not as a failure of the run.
template <typename Body>
auto reading_checkpoint(Body&& body) -> decltype(body()) {
  try {
    return body();
  } catch (const checkpoint_error& error) {
    throw config_error(error.what());
  }
}

/// "after epoch 2" at an epoch's end, "after iteration 5 of epoch 3" within one; counted from 1.
std::string describe_position(const training_position& position) {
  if (position.at_epoch_boundary()) return "after epoch " + std::to_string(position.epoch);
  return "after iteration " + std::to_string(position.iteration_in_epoch) + " of epoch " +
         std::to_string(position.epoch + 1);
}

using clock = std::chrono::steady_clock;

double seconds_since(clock::time_point start) {
  return std::chrono::duration<double>(clock::now() - start).count();
}

batch_shape shape_of(const multigrid::clip_shape& shape) {
  return {shape.per_gpu_batch, shape.global_batch, shape.num_frames, shape.crop};
}

std::string describe_shape(const multigrid::clip_shape& shape) {
  return std::to_string(shape.per_gpu_batch) + "x" + std::to_string(shape.num_frames) + "x" +
         std::to_string(shape.crop) + "x" + std::to_string(shape.crop);
}

/// Loads a split when its annotation file exists; training needs "train", the others are optional.
std::shared_ptr<const video_dataset> optional_split(const data_config& data,
                                                    const std::string& split,
                                                    const std::vector<std::string>& class_names) {
  const auto file = annotation_file_for_split(data.path_to_data_dir, split, data.format);
  if (!std::filesystem::exists(file)) return nullptr;
  return std::make_shared<const video_dataset>(load_split(data, split, class_names));
}

/// Everything one training run holds, in the order it is built.
class training_run {
 public:
  training_run(const config_tree& tree, const trainer_options& options)
      : options_(options), config_(read_run_config(tree)), layout_{config_.train.output_dir} {
    // PySlowFast keys this trainer does not use, given on the command line: said before training.
    for (const auto& key : tree.unread_overrides()) {
      print("warning: " + key + " is a PySlowFast key this trainer does not use");
    }
  }

  training_outcome run() {
    try {
      return run_logged();
    } catch (const std::exception& error) {
      // The log of a job that failed says why, as its terminal did.
      if (log_file_) {
        std::fprintf(log_file_.get(), "%serror: %s\n", log_time_prefix(std::time(nullptr)).c_str(),
                     error.what());
        std::fflush(log_file_.get());
      }
      throw;
    }
  }

 private:
  training_outcome run_logged() {
    const auto started = clock::now();
    if (!config_.train.train.enable) return test_only(started);
    setup();
    training_outcome outcome;
    outcome.output_dir = layout_.output_dir;
    outcome.epochs = plan_->epochs();
    outcome.iterations = plan_->total_iterations();
    shutdown_signal_handler signals;
    outcome.completed = train(outcome);
    outcome.train_seconds = position_.wall_seconds;
    if (outcome.completed) final_test(outcome);
    if (is_main()) write_report();
    outcome.total_seconds = seconds_since(started);
    outcome.final_loss = last_epoch_loss_;
    return outcome;
  }

  bool is_main() const { return !group_ || group_->rank() == 0; }

  /// A block of text for the terminal and OUTPUT_DIR/stdout.log (rank 0 only). Before the run is
  /// accepted and its folder made, the log's part is kept and written when the log opens.
  void print(const std::string& text) {
    if (!is_main()) return;
    std::fprintf(options_.out, "%s\n", text.c_str());
    std::fflush(options_.out);
    if (log_file_) {
      std::fprintf(log_file_.get(), "%s\n", text.c_str());
      std::fflush(log_file_.get());
    } else {
      early_output_ += text + "\n";
    }
  }

  void open_log() {
    const auto path = layout_.stdout_log();
    log_file_.reset(std::fopen(path.c_str(), "a"));
    if (!log_file_) {
      throw config_error("OUTPUT_DIR = " + layout_.output_dir + ": cannot write " + path + ": " +
                         std::strerror(errno));
    }
    std::fputs(early_output_.c_str(), log_file_.get());
    std::fflush(log_file_.get());
    early_output_.clear();
  }

  /// A line for the user (rank 0 only). The loaders report broken videos from their threads.
  void say(const std::string& text) {
    if (!is_main()) return;
    std::lock_guard<std::mutex> lock(say_mutex_);
    if (progress_) {
      progress_->message(text);
    } else {
      print(text);
    }
  }

  /// For what each process finds on its own (a broken video in its shard): every rank says it,
  /// under the same lock as the progress line.
  void say_on_every_rank(const std::string& text) {
    if (is_main()) {
      say(text);
      return;
    }
    std::lock_guard<std::mutex> lock(say_mutex_);
    std::fprintf(stderr, "rank %d: %s\n", group_->rank(), text.c_str());
  }

  /// What every run needs before it reads data: the device, the process group, threads, seeds.
  void setup_process() {
    const auto environment = read_distributed_environment();
    check_world_size(environment, config_.train.num_gpus);
    device_ = select_device(config_.train.device, environment.local_rank);
#if MULTIGRID_WITH_CUDA
    // NCCL and every allocation without an explicit device use the current device.
    if (device_.is_cuda()) c10::cuda::set_device(device_.index());
#endif
    normalization_.emplace(config_.data.mean, config_.data.std, device_);
    group_ = process_group::join(environment, process_group_options_for(config_.train, device_));

    const auto threads =
        this_process_thread_budget(group_->size(), config_.train.data_loader.num_workers);
    at::set_num_threads(threads.intra_op_threads());
    if (is_main()) print(threads.describe());
    seed_torch(config_.train.rng_seed, group_->rank());
    use_deterministic_algorithms(config_.train.train.deterministic);
    if (device_.is_cuda()) compat::set_cudnn_benchmark(!config_.train.train.deterministic);
  }

  void setup() {
    setup_process();
    // The data the configuration names: a missing folder or file is the configuration's fault.
    try {
      train_set_ = std::make_shared<const video_dataset>(load_split(config_.data, "train"));
      val_set_ = optional_split(config_.data, "val", train_set_->class_names());
      test_set_ = optional_split(config_.data, "test", train_set_->class_names());
    } catch (const dataset_error& error) {
      throw config_error(keys::data_path_to_data_dir.name() + " = " +
                         config_.data.path_to_data_dir + ": " + error.what());
    }
    if (train_set_->num_classes() > config_.model.num_classes) {
      throw config_error(keys::model_num_classes.name() + " = " +
                         std::to_string(config_.model.num_classes) + ": the training set " +
                         train_set_->source() + " has " +
                         std::to_string(train_set_->num_classes()) + " classes");
    }
    try {
      plan_ = std::make_unique<multigrid::plan>(config_.schedule, train_set_->size());
    } catch (const multigrid::invalid_config& error) {
      throw config_error(std::string(error.what()) + " (the training set " + train_set_->source() +
                         " has " + std::to_string(train_set_->size()) + " videos)");
    }

    if (is_main()) {
      // What the run will do with this training set, and where it is in the region where
      // multigrid was seen to fail (docs/training.md), before any time is spent.
      auto table = schedule_table(config_.schedule, train_set_->size());
      if (!table.empty() && table.back() == '\n') table.pop_back();
      print(label() + ": " + std::to_string(train_set_->size()) + " training videos in " +
            std::to_string(train_set_->num_classes()) + " classes (" + train_set_->source() +
            ")\n" + table);
      for (const auto& line :
           schedule_fit_warnings(config_.schedule, train_set_->size(), slowfast_spatial_stride())) {
        print("warning: " + line);
      }
    }

    build_model();
    if (is_main() && config_.log_model_info) {
      const auto summary = summarize_model(model_, distinct_clip_sizes(config_.schedule));
      print(format_model_summary(summary, config_.model));
    }

    optimizer_ = std::make_unique<training_optimizer>(split_batch_norm_parameters(*model_),
                                                      sgd_settings_from(config_.train.optimizer));
    checkpoints_ = std::make_unique<checkpoint_directory>(layout_.checkpoints());
    if (is_main()) {
      const auto removed = checkpoints_->remove_stale_temporaries();
      if (!removed.empty()) {
        say("removed " + std::to_string(removed.size()) +
            " temporary file(s) of interrupted checkpoint writes, such as " + removed.front());
      }
    }
    resume();
    // The run is accepted: only now does OUTPUT_DIR get its files.
    if (is_main()) {
      create_output_dir();
      open_log();
      print(log_time_prefix(std::time(nullptr)) + label() + ": training with config:\n" +
            config_.resolved.yaml());
      try {
        save_resolved_config(config_.resolved, layout_.config());
      } catch (const std::exception& error) {
        throw config_error("OUTPUT_DIR = " + layout_.output_dir + ": " + error.what());
      }
      truncate_metrics(layout_.metrics(), position_.global_iteration);
    }
    broadcast_module_state(*group_, *model_);
    if (group_->size() > 1) {
      std::vector<torch::Tensor> parameters;
      for (const auto& entry : optimizer_->groups().regular) parameters.push_back(entry.tensor);
      for (const auto& entry : optimizer_->groups().batch_norm) parameters.push_back(entry.tensor);
      reducer_ = std::make_unique<gradient_all_reducer>(group_, parameters);
      sync_groups_ = std::make_unique<batch_norm_sync_groups>(group_);
    }
    // Process-wide, as the trainer runs one model: every sub-batch BN layer computes this way
    // until the run ends.
    sub_batch_computation_.emplace(config_.train.sub_batch_computation);
    if (config_.train.sub_batch_computation) {
      // The computation in effect, as the layers will see it.
      say(keys::bn_sub_batch_computation.name() + " " +
          split_batch_norm_method_name(split_batch_norm_method_for(device_)));
    }
    step_ = std::make_unique<training_step>(model_, *optimizer_, reducer_.get(), device_);
    if (config_.train.train.cuda_graphs) {
      if (!device_.is_cuda() || !cuda_graphs_supported()) {
        say(keys::train_cuda_graphs.name() + " needs CUDA: training eagerly");
      } else if (group_->size() > 1) {
        say(keys::train_cuda_graphs.name() +
            " captures single-process steps only: training eagerly");
      } else {
        graphed_ = std::make_unique<graphed_training_step>(
            model_, *optimizer_, device_, config_.data.mean, config_.data.std,
            [this](const std::string& line) { say(line); });
      }
    }

    auto loader_options = loader_options_from(config_.data, group_->rank(), group_->size(),
                                              static_cast<std::uint64_t>(config_.train.rng_seed));
    loader_options.pin_memory = device_.is_cuda() && config_.train.data_loader.pin_memory;
    loader_options.report = [this](const std::string& line) { say_on_every_rank(line); };
    loader_options.broken_log = shared_broken_video_log(loader_options);
    loader_ = std::make_unique<clip_loader>(train_set_, *plan_, loader_options);
    if (config_.train.precise_batch_norm.enabled) {
      precise_loader_ = std::make_unique<precise_bn_loader>(
          train_set_, *plan_, loader_options, config_.train.precise_batch_norm.num_batches);
    }
    const int evaluation_batch = std::max(1, config_.train.test.batch_size / group_->size());
    if (val_set_ && !val_set_->empty()) {
      const auto& data = config_.data;
      // Its own broken-video log: the log counts videos by their index in one dataset.
      auto validation_options = loader_options;
      validation_options.broken_log = shared_broken_video_log(loader_options);
      validation_loader_ = std::make_unique<evaluation_loader>(
          val_set_,
          validation_views(data.num_frames, data.sampling_rate, data.train_crop_size,
                           data.train_jitter_scales[0], evaluation_batch, data.target_fps),
          validation_options);
    }
    if (is_main()) {
      metrics_ = std::make_unique<metrics_log>(layout_.metrics());
      progress_ = std::make_unique<progress_display>(options_.out, config_.train.log_period,
                                                     log_file_.get());
    }
  }

  void build_model() {
    model_ = SlowFast(config_.model);
    model_->to(device_);
    if (device_.is_cuda()) {
      torch::NoGradGuard no_grad;
      for (auto& parameter : model_->parameters()) {
        if (parameter.dim() == 5) {
          parameter.set_data(parameter.data().contiguous(at::MemoryFormat::ChannelsLast3d));
        }
      }
    }
  }

  /// TRAIN.ENABLE False: the multi-view test of one checkpoint, as PySlowFast's test_net. The
  /// weights: TEST.CHECKPOINT_FILE_PATH, else the newest good checkpoint in OUTPUT_DIR, else
  /// TRAIN.CHECKPOINT_FILE_PATH.
  training_outcome test_only(clock::time_point started) {
    const auto& test = config_.train.test;
    if (!test.enable) {
      throw config_error(keys::train_enable.name() + " = False tests a checkpoint, and " +
                         keys::test_enable.name() + " = False: nothing to do");
    }
    setup_process();
    try {
      // The training set's classes, when its annotation file is there, keep the labels as the
      // model learnt them; else the test set's own.
      const auto train = optional_split(config_.data, "train", {});
      test_set_ = std::make_shared<const video_dataset>(load_split(
          config_.data, "test", train ? train->class_names() : std::vector<std::string>{}));
    } catch (const dataset_error& error) {
      throw config_error(keys::data_path_to_data_dir.name() + " = " +
                         config_.data.path_to_data_dir + ": " + error.what());
    }
    if (test_set_->empty()) {
      throw config_error(keys::data_path_to_data_dir.name() + " = " +
                         config_.data.path_to_data_dir + ": the test set " + test_set_->source() +
                         " has no videos");
    }
    if (test_set_->num_classes() > config_.model.num_classes) {
      throw config_error(keys::model_num_classes.name() + " = " +
                         std::to_string(config_.model.num_classes) + ": the test set " +
                         test_set_->source() + " has " + std::to_string(test_set_->num_classes()) +
                         " classes");
    }
    build_model();
    // Rank 0 reads the weights and the others receive them, so that only its machine needs the
    // file (checkpoints are written by rank 0 alone).
    std::string weights;
    if (is_main()) {
      weights = weights_to_test();
      position_ = reading_checkpoint([&] { return load_weights_to_test(weights); });
    }
    model_->pool_batch_norm_statistics();
    broadcast_module_state(*group_, *model_);
    if (is_main()) {
      create_output_dir();
      open_log();
      print(log_time_prefix(std::time(nullptr)) + label() + ": testing " + weights + " on " +
            std::to_string(test_set_->size()) + " videos (" + test_set_->source() +
            ") with config:\n" + config_.resolved.yaml());
      metrics_ = std::make_unique<metrics_log>(layout_.metrics());
      progress_ = std::make_unique<progress_display>(options_.out, config_.train.log_period,
                                                     log_file_.get());
    }
    optimizer_ = std::make_unique<training_optimizer>(split_batch_norm_parameters(*model_),
                                                      sgd_settings_from(config_.train.optimizer));
    step_ = std::make_unique<training_step>(model_, *optimizer_, nullptr, device_);
    training_outcome outcome;
    outcome.output_dir = layout_.output_dir;
    run_test(outcome, "of " + weights);
    if (is_main()) metrics_->sync();
    outcome.completed = true;
    outcome.total_seconds = seconds_since(started);
    return outcome;
  }

  std::string weights_to_test() {
    const auto& chosen = config_.train.test.checkpoint_file_path;
    if (!chosen.empty()) {
      require_file(keys::test_checkpoint_file_path.name(), chosen);
      return chosen;
    }
    checkpoints_ = std::make_unique<checkpoint_directory>(layout_.checkpoints());
    std::vector<std::string> skipped;
    const auto latest = reading_checkpoint([&] { return checkpoints_->latest(&skipped); });
    for (const auto& reason : skipped) say("skipping a damaged checkpoint: " + reason);
    if (latest) return *latest;
    const auto& initial = config_.train.train.checkpoint_file_path;
    if (!initial.empty()) {
      require_file(keys::train_checkpoint_file_path.name(), initial);
      return initial;
    }
    throw config_error(keys::train_enable.name() + " = False: no weights to test; set " +
                       keys::test_checkpoint_file_path.name() + ", or " + keys::output_dir.name() +
                       " to a run with checkpoints (" + layout_.checkpoints() + " has none)");
  }

  /// A weights file the configuration names must exist; the error names the key.
  static void require_file(const std::string& key_name, const std::string& path) {
    if (!std::filesystem::is_regular_file(path)) {
      throw config_error(key_name + " = " + path + ": no such file");
    }
  }

  std::string label() const {
    return options_.label.empty() ? layout_.output_dir : options_.label;
  }

  void create_output_dir() const {
    std::error_code error;
    std::filesystem::create_directories(layout_.output_dir, error);
    if (error || !std::filesystem::is_directory(layout_.output_dir)) {
      throw config_error("OUTPUT_DIR = " + layout_.output_dir + ": cannot create the folder" +
                         (error ? ": " + error.message() : std::string()));
    }
  }

  // The weights TRAIN.ENABLE False tests; returns the position of a checkpoint, the start for a
  // weights file.
  training_position load_weights_to_test(const std::string& path) {
    if (!looks_like_torch_save(path)) {
      const checkpoint_file file(path);
      const auto format = file.metadata().find("format");
      if (format != file.metadata().end() && format->second == "multigrid-checkpoint") {
        opened_checkpoint checkpoint(path);
        checkpoint.load_model(parts().load_model);
        return checkpoint.state().position;
      }
    }
    load_initial_weights(path);
    return {};
  }

  // TRAIN.CHECKPOINT_FILE_PATH: a checkpoint's model, or a weights file (initial_weights.hpp).
  void load_initial_weights(const std::string& path) {
    const auto skipped = load_weights(model_, read_weights_file(path), path);
    say("initial weights from " + path);
    for (const auto& name : skipped) say("not loaded, left as initialised: " + name);
  }

  checkpoint_parts parts() {
    return {[this] { return save_model_state(model_); },
            [this](const state_dict& state) { load_model_state(model_, state); },
            [this] { return optimizer_->save(); },
            [this](const state_dict& state) { optimizer_->load(state); }};
  }

  void resume() {
    const bool wanted =
        options_.resume == resume_mode::always ||
        (options_.resume == resume_mode::automatic && config_.train.train.auto_resume);
    std::optional<std::string> latest;
    if (wanted) {
      std::vector<std::string> skipped;
      latest = reading_checkpoint([&] { return checkpoints_->latest(&skipped); });
      for (const auto& reason : skipped) say("skipping a damaged checkpoint: " + reason);
    }
    if (!latest) {
      if (options_.resume == resume_mode::always) {
        throw config_error("--resume: no checkpoint in " + checkpoints_->folder());
      }
      const auto& initial_weights = config_.train.train.checkpoint_file_path;
      if (!initial_weights.empty()) {
        require_file(keys::train_checkpoint_file_path.name(), initial_weights);
        reading_checkpoint([&] { load_initial_weights(initial_weights); });
      }
      position_.train_samples = train_set_->size();
      return;
    }
    opened_checkpoint checkpoint = reading_checkpoint([&] { return opened_checkpoint(*latest); });
    check_resume_compatible(checkpoint, config_.resolved, train_set_->size());
    reading_checkpoint([&] { checkpoint.load(parts()); });
    position_ = checkpoint.state().position;
    history_ = checkpoint.state().history;
    const auto& states = checkpoint.state().rng;
    if (static_cast<int>(states.size()) == group_->size()) {
      const auto warning = restore_rng_state(states[static_cast<std::size_t>(group_->rank())]);
      if (!warning.empty()) say(warning);
    } else {
      say("the checkpoint holds the random state of " + std::to_string(states.size()) +
          " processes, not " + std::to_string(group_->size()) + ": random state not restored");
    }
    // Messages count epochs and iterations from 1, as the progress lines and the checkpoint names.
    say("resuming from " + *latest + " " + describe_position(position_));
  }

  /// Whether a signal asked any process to stop; every process gets the same answer.
  bool any_process_asks_to_stop() {
    auto flag = torch::tensor({shutdown_requested() ? 1.0 : 0.0}, torch::kDouble);
    group_->all_reduce_sum(flag, "stop agreement");
    return flag.item<double>() > 0;
  }

  void apply_stage(const multigrid::iteration_plan& step) {
    const auto& mode = step.settings->batch_norm;
    std::shared_ptr<batch_norm_synchronizer> synchronizer;
    if (mode.type == multigrid::batch_norm_type::synchronized) {
      synchronizer = sync_groups_->for_devices(mode.sync_devices);
    }
    if (graphed_) graphed_->reset();  // the graphs hold the old stage's BN statistics
    model_->set_batch_norm_mode(mode, synchronizer);
    applied_stage_ = step.stage;
  }

  /// Every process calls it (the random states are gathered); rank 0 writes, since the model is
  /// the same on all.
  void save_checkpoint() {
    auto local = capture_rng_state();
    local.loader_seed = static_cast<std::uint64_t>(config_.train.rng_seed);
    auto states = gather_rng_states(*group_, local);
    if (!is_main()) return;
    model_->pool_batch_norm_statistics();  // mid-epoch too: the checkpoint holds plain BN
    checkpoint_state state;
    state.position = position_;
    state.rng = std::move(states);
    state.history = history_;
    state.config_yaml = config_.resolved.yaml();
    checkpoints_->save(state, parts(), config_.train.train.keep_last_checkpoints,
                       config_.train.train.checkpoint_period);
  }

  /// Trains to the end of the schedule; false when stopped by a signal.
  bool train(training_outcome& outcome) {
    const double wall_at_start = position_.wall_seconds;
    const auto started = clock::now();
    auto wall = [&] { return wall_at_start + seconds_since(started); };
    std::int64_t iterations_here = 0;  // by this process, for the time left
    const int epochs = plan_->epochs();
    const int first_epoch = position_.epoch;
    for (int epoch = first_epoch; epoch < epochs; ++epoch) {
      // A resumed run continues its first epoch at the saved iteration, with the same batches.
      loader_->start_epoch(epoch, epoch == first_epoch ? position_.iteration_in_epoch : 0);
      position_.epoch = epoch;
      throughput_meter meter;
      meter.begin_epoch();
      // Kept in the position so that a mid-epoch checkpoint carries them (zero at an epoch's
      // start).
      double& loss_sum = position_.epoch_loss_sum;
      std::int64_t& loss_count = position_.epoch_losses;
      std::optional<multigrid::iteration_plan> last_step;
      while (auto batch = loader_->next()) {
        meter.batch_arrived();
        const auto step = *batch->step;
        if (step.stage_begins || applied_stage_ != step.stage) apply_stage(step);
        torch::Tensor loss;
        if (graphed_ && graphed_->capturing() && batch->clips.scalar_type() == torch::kUInt8) {
          loss = graphed_->run(batch->clips, batch->labels, step.lr);
        } else {
          const auto input = model_input(batch->clips, *normalization_);
          const auto labels = batch->labels.to(device_, /*non_blocking=*/true);
          loss = step_->run(input, labels, step.lr);
        }

        // One small all-reduce per iteration makes every process agree on the mean loss, on a
        // non-finite loss anywhere, and on a stop request, so all stop at the same iteration.
        const double local_loss = loss.item<double>();
        const bool finite = std::isfinite(local_loss);
        auto agreement = torch::tensor(
            {finite ? local_loss : 0.0, finite ? 0.0 : 1.0, shutdown_requested() ? 1.0 : 0.0},
            torch::kDouble);
        group_->all_reduce_sum(agreement, "iteration agreement");
        if (agreement[1].item<double>() > 0) {
          throw training_error("non-finite loss at epoch " + std::to_string(epoch + 1) +
                               ", iteration " + std::to_string(step.iteration + 1) + " of " +
                               std::to_string(step.iterations_in_epoch) + " (global " +
                               std::to_string(step.global_iteration + 1) + "), stage " +
                               std::to_string(step.stage) + ", shape " +
                               describe_shape(step.shape) + ", lr " + std::to_string(step.lr) +
                               "; the last good checkpoint is kept in " + checkpoints_->folder());
        }
        const double mean_loss = agreement[0].item<double>() / group_->size();
        if (device_.is_cuda()) torch::cuda::synchronize();
        meter.iteration_done(step.shape.global_batch);
        ++iterations_here;
        loss_sum += mean_loss;
        ++loss_count;
        position_.iteration_in_epoch = step.iteration + 1;
        position_.global_iteration = step.global_iteration + 1;
        position_.wall_seconds = wall();
        last_step = step;
        if (is_main()) {
          iteration_metrics record;
          record.epoch = epoch;
          record.iteration = step.iteration;
          record.global_iteration = step.global_iteration;
          record.stage = step.stage;
          record.shape = shape_of(step.shape);
          record.lr = step.lr;
          record.loss = mean_loss;
          record.clips_per_second = meter.last_clips_per_second();
          record.data_wait_share = meter.last_data_wait_share();
          record.wall_seconds = position_.wall_seconds;
          metrics_->append(record);
          progress_state state;
          state.epoch = epoch;
          state.epochs = epochs;
          state.iteration = step.iteration;
          state.iterations = step.iterations_in_epoch;
          state.global_iteration = step.global_iteration;
          state.total_iterations = plan_->total_iterations();
          state.seconds_per_iteration =
              seconds_since(started) / static_cast<double>(iterations_here);
          state.stage = step.stage;
          state.shape = record.shape;
          state.lr = step.lr;
          state.loss = loss_sum / static_cast<double>(loss_count);
          state.clips_per_second = meter.epoch_clips_per_second();
          state.data_wait_share = meter.epoch_data_wait_share();
          state.epoch_seconds = meter.epoch_seconds();
          std::lock_guard<std::mutex> lock(say_mutex_);
          progress_->update(state);
        }
        if (agreement[2].item<double>() > 0 && step.iteration + 1 < step.iterations_in_epoch) {
          save_checkpoint();
          outcome.stop_signal = shutdown_signal_number() ? shutdown_signal_number() : SIGTERM;
          say("stopped by a signal " + describe_position(position_) + "; a checkpoint was written");
          return false;
        }
      }
      end_epoch(epoch, meter, loss_count ? loss_sum / static_cast<double>(loss_count) : 0.0,
                last_step, wall);
      if (epoch + 1 < epochs && epoch + 1 == options_.stop_after_epochs) {
        say("stopped after epoch " + std::to_string(epoch + 1) + " as asked; run again to resume");
        return false;
      }
      if (epoch + 1 < epochs && any_process_asks_to_stop()) {
        outcome.stop_signal = shutdown_signal_number() ? shutdown_signal_number() : SIGTERM;
        say("stopped by a signal after epoch " + std::to_string(epoch + 1) +
            "; a checkpoint was written");
        return false;
      }
    }
    return true;
  }

  template <class Wall>
  void end_epoch(int epoch, const throughput_meter& meter, double mean_loss,
                 const std::optional<multigrid::iteration_plan>& last_step, Wall& wall) {
    if (graphed_) graphed_->reset();  // precise BN and pooling rewrite what the graphs hold
    const auto& train = config_.train.train;
    const bool evaluate_now = multigrid::is_evaluation_epoch(config_.schedule, plan_->schedule(),
                                                             epoch, train.eval_period);
    if (precise_loader_ &&
        multigrid::is_precise_batch_norm_epoch(config_.schedule, plan_->schedule(), epoch,
                                               train.eval_period, train.checkpoint_period)) {
      precise_loader_->start(epoch);
      update_precise_batch_norm(
          model_,
          [this]() -> std::optional<torch::Tensor> {
            auto batch = precise_loader_->next();
            if (!batch) return std::nullopt;
            return model_input(batch->clips, *normalization_);
          },
          config_.train.precise_batch_norm.num_batches);
    }
    model_->pool_batch_norm_statistics();

    position_.epoch = epoch + 1;
    position_.iteration_in_epoch = 0;
    position_.epoch_loss_sum = 0;
    position_.epoch_losses = 0;
    position_.wall_seconds = wall();
    const auto stage_index = plan_->stage_of_epoch(epoch);
    const auto& stage = plan_->stages()[static_cast<std::size_t>(stage_index)];
    epoch_metrics record;
    record.epoch = epoch;
    record.stage = stage_index;
    record.iterations = plan_->iterations_in_epoch(epoch);
    record.step = position_.global_iteration;
    record.shape = shape_of(stage.settings.base);
    record.lr = last_step ? last_step->lr : plan_->lr_at(epoch);
    record.loss = mean_loss;
    record.clips_per_second = meter.epoch_clips_per_second();
    record.data_wait_share = meter.epoch_data_wait_share();
    record.epoch_seconds = meter.epoch_seconds();
    record.wall_seconds = position_.wall_seconds;
    history_.epochs.push_back(record);
    last_epoch_loss_ = mean_loss;
    if (is_main()) {
      metrics_->append(record);
      std::lock_guard<std::mutex> lock(say_mutex_);
      progress_->end_epoch(record, plan_->epochs());
    }
    if (const auto warning = multigrid::plateau_warning(config_.schedule, plan_->schedule(), epoch,
                                                        mean_loss, config_.model.num_classes)) {
      say("warning: " + *warning);
    }

    if (validation_loader_ && evaluate_now) {
      const auto result = evaluate(*step_, *validation_loader_, config_.model.num_classes,
                                   *normalization_, *group_);
      record_evaluation(epoch, "val", 1, result);
      last_validation_ = result;
    }
    save_checkpoint();
    if (is_main()) metrics_->sync();
  }

  /// `when`: "after epoch 3" by default, or what was evaluated ("of checkpoint.ckpt").
  void record_evaluation(int epoch, const std::string& split, int views,
                         const evaluation_result& result, const std::string& when = "") {
    evaluation_metrics record;
    record.epoch = epoch;
    record.step = position_.global_iteration;
    record.split = split;
    record.views = views;
    record.videos = result.videos;
    record.top1 = result.top1;
    record.top5 = result.top5;
    record.loss = result.loss;
    record.wall_seconds = position_.wall_seconds;
    history_.evaluations.push_back(record);
    if (!is_main()) return;
    metrics_->append(record);
    char top5[32] = "";
    if (top5_informative(config_.model.num_classes)) {
      std::snprintf(top5, sizeof top5, ", top-5 %.2f%%", result.top5);
    }
    char line[256];
    std::snprintf(line, sizeof line, ": top-1 %.2f%%%s over %lld videos (%d view%s)", result.top1,
                  top5, static_cast<long long>(result.videos), views, views == 1 ? "" : "s");
    say(split + " " + (when.empty() ? "after epoch " + std::to_string(epoch + 1) : when) + line);
  }

  void final_test(training_outcome& outcome) {
    outcome.validation = last_validation_;
    if (!config_.train.test.enable || !test_set_ || test_set_->empty()) return;
    run_test(outcome, "");
  }

  /// The multi-view test of the model as it is now.
  void run_test(training_outcome& outcome, const std::string& when) {
    const auto& data = config_.data;
    const auto& test = config_.train.test;
    const int batch = std::max(1, test.batch_size / group_->size());
    auto options = loader_options_from(data, group_->rank(), group_->size(),
                                       static_cast<std::uint64_t>(config_.train.rng_seed));
    options.report = [this](const std::string& line) { say_on_every_rank(line); };
    evaluation_loader loader(
        test_set_,
        test_views(data.num_frames, data.sampling_rate, data.test_crop_size,
                   test.num_ensemble_views, test.num_spatial_crops, data.train_jitter_scales[0],
                   batch, data.target_fps, data.use_offset_sampling),
        options);
    const auto result =
        evaluate(*step_, loader, config_.model.num_classes, *normalization_, *group_);
    const int epoch = plan_ ? plan_->epochs() - 1 : std::max(0, position_.epoch - 1);
    record_evaluation(epoch, "test", test.num_ensemble_views * test.num_spatial_crops, result,
                      when);
    outcome.test = result;
  }

  void write_report() {
    metrics_->sync();
    const auto run = load_run(layout_.output_dir, label());
    write_run_report({run}, layout_.report());
    const auto table = run_summary_table({run});
    write_file_atomically(layout_.summary(), table);
    say("report: " + layout_.report());
  }

  trainer_options options_;
  run_config config_;
  run_layout layout_;
  torch::Device device_{torch::kCPU};
  std::optional<clip_normalization> normalization_;  ///< on device_, made once
  // Before the loaders, so that they are destroyed after them: a loader's worker may still report
  // a broken video through say() while the loader joins it.
  std::mutex say_mutex_;
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> log_file_{nullptr, &std::fclose};
  std::string early_output_;  ///< printed before the log opened
  std::unique_ptr<progress_display> progress_;
  std::shared_ptr<process_group> group_;
  std::shared_ptr<const video_dataset> train_set_;
  std::shared_ptr<const video_dataset> val_set_;
  std::shared_ptr<const video_dataset> test_set_;
  std::unique_ptr<multigrid::plan> plan_;
  SlowFast model_{nullptr};
  std::unique_ptr<training_optimizer> optimizer_;
  std::unique_ptr<checkpoint_directory> checkpoints_;
  std::unique_ptr<gradient_all_reducer> reducer_;
  std::unique_ptr<batch_norm_sync_groups> sync_groups_;
  // Before the step and its graphs, which compute with it, so that it goes after them.
  std::optional<scoped_split_batch_norm_method> sub_batch_computation_;
  std::unique_ptr<training_step> step_;
  std::unique_ptr<graphed_training_step> graphed_;
  std::unique_ptr<clip_loader> loader_;
  std::unique_ptr<precise_bn_loader> precise_loader_;
  std::unique_ptr<evaluation_loader> validation_loader_;
  std::unique_ptr<metrics_log> metrics_;
  training_position position_;
  metrics_history history_;
  std::optional<evaluation_result> last_validation_;
  int applied_stage_ = -1;
  double last_epoch_loss_ = 0;
};

}  // namespace

training_outcome run_training(const config_tree& tree, const trainer_options& options) {
  training_run run(tree, options);
  try {
    return run.run();
  } catch (const distributed_error& error) {
    throw training_error(error.what());
  } catch (const c10::Error& error) {
    throw training_error(error_text(error));
  }
}

}  // namespace multigrid::reference
