#include "train/trainer.hpp"

#include <doctest/doctest.h>

#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <multigrid/plan.hpp>
#include <multigrid/schedule_warnings.hpp>
#include <string>
#include <thread>
#include <vector>

#include "config/schedule_config.hpp"
#include "model/model_state.hpp"
#include "model/slowfast.hpp"
#include "train/checkpoint.hpp"
#include "train/checkpoint_directory.hpp"
#include "train/demo.hpp"
#include "train/metrics.hpp"
#include "trainer_fixture.hpp"

using namespace multigrid::reference;
using namespace multigrid::testing;

namespace {

const std::string train_tool = MULTIGRID_TRAIN_TOOL;

training_outcome train_quietly(const config_tree& tree, trainer_options options = {}) {
  static std::FILE* sink = std::fopen("/dev/null", "w");
  options.out = sink;
  return run_training(tree, options);
}

/// The model of a run's newest checkpoint.
SlowFast model_of_newest_checkpoint(const std::string& output_dir, const config_tree& tree) {
  const auto path = checkpoint_directory(output_dir + "/checkpoints").latest();
  REQUIRE(path.has_value());
  SlowFast model(read_slowfast_options(tree));
  opened_checkpoint checkpoint(*path);
  checkpoint.load_model(
      [&](torch::serialize::InputArchive& archive) { load_model_state(model, archive); });
  return model;
}

/// The largest difference between two models' parameters and floating-point buffers, relative to
/// the magnitude of the values (|x - y| / (1 + |y|)), and where it is.
struct model_difference {
  double largest = 0;
  std::string where;
};

model_difference largest_difference(SlowFast a, SlowFast b) {
  model_difference difference;
  auto compare = [&](const std::string& name, const torch::Tensor& x, const torch::Tensor& y) {
    const double value = ((x - y).abs() / (1 + y.abs())).max().item<double>();
    if (value > difference.largest) difference = {value, name};
  };
  const auto b_parameters = b->named_parameters();
  for (const auto& entry : a->named_parameters()) {
    compare(entry.key(), entry.value(), b_parameters[entry.key()]);
  }
  const auto b_buffers = b->named_buffers();
  for (const auto& entry : a->named_buffers()) {
    if (entry.value().is_floating_point()) {
      compare(entry.key(), entry.value(), b_buffers[entry.key()]);
    }
  }
  return difference;
}

std::string write_config(const temporary_directory& directory, const std::string& output_dir) {
  const auto path = directory.file("run.yaml");
  write_text_file(path, small_run_config(output_dir));
  return path;
}

/// Waits until `path` holds a line containing `text`; false after `seconds`.
bool wait_for_line(const std::string& path, const std::string& text, double seconds) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  while (std::chrono::steady_clock::now() < deadline) {
    std::ifstream file(path);
    std::string line;
    while (std::getline(file, line)) {
      if (line.find(text) != std::string::npos) return true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return false;
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

}  // namespace

TEST_CASE("The demo's multigrid shapes stay informative at its scale") {
  // What made multigrid work at 64 pixels (docs/training.md): no warning of the schedule's fit
  // (crops of 45 pixels and more, at least 4 frames, several steps an epoch at every stage), and
  // sub-batch BN splits of 16 clips or more.
  auto tree = multigrid::reference::config_tree::load_string(
      multigrid::reference::demo_config_text(), "demo config");
  tree.apply_overrides({"MULTIGRID.LONG_CYCLE", "True", "MULTIGRID.SHORT_CYCLE", "True"});
  const multigrid::plan plan(multigrid::reference::read_schedule_config(tree), 8 * 48);
  CHECK(plan.stages().size() > 4);
  CHECK(multigrid::check_schedule_fit(plan).empty());
  for (const auto& stage : plan.stages()) CHECK(stage.iterations_per_epoch >= 8);
  for (std::int64_t i = 0; i < plan.total_iterations(); ++i) {
    const auto step = plan.at(i);
    CHECK(step.shape.num_frames >= 4);
    const auto& bn = step.settings->batch_norm;
    if (bn.type == multigrid::batch_norm_type::sub_batch) {
      CHECK(step.shape.per_gpu_batch / bn.splits >= 16);
    }
  }
}

TEST_CASE("A short run on generated videos learns the motion classes") {
  temporary_directory directory;
  const auto tree = small_run_tree(directory.path(), {"SOLVER.STEPS",
                                                      "[0, 16]",
                                                      "SOLVER.LRS",
                                                      "[1, 0.1]",
                                                      "SOLVER.MAX_EPOCH",
                                                      "20",
                                                      "SOLVER.BASE_LR",
                                                      "0.03",
                                                      "SOLVER.WARMUP_EPOCHS",
                                                      "2.0",
                                                      "TRAIN.BATCH_SIZE",
                                                      "8",
                                                      "RESNET.ZERO_INIT_FINAL_BN",
                                                      "True",
                                                      "TRAIN.EVAL_PERIOD",
                                                      "100",
                                                      "BN.USE_PRECISE_STATS",
                                                      "True",
                                                      "BN.NUM_BATCHES_PRECISE",
                                                      "2"});
  const auto outcome = train_quietly(tree);
  REQUIRE(outcome.completed);
  CHECK(outcome.epochs == 20);
  REQUIRE(outcome.validation.has_value());
  REQUIRE(outcome.test.has_value());
  // Four classes: chance is 25%.
  CHECK(outcome.validation->top1 >= 50);
  CHECK(outcome.test->top1 >= 50);
  CHECK(std::filesystem::exists(directory.file("report.svg")));
  CHECK(std::filesystem::exists(directory.file("summary.txt")));
  const auto metrics = read_metrics(directory.file("metrics.jsonl"));
  CHECK(static_cast<std::int64_t>(metrics.iterations.size()) == outcome.iterations);
  CHECK(metrics.epochs.size() == 20);
}

TEST_CASE("Two epochs straight equal one epoch, a resume, and one more") {
  temporary_directory straight;
  temporary_directory resumed;
  // Multigrid, so that the resumed run crosses a stage change (MAX_EPOCH 2 becomes 3 epochs).
  const std::vector<std::string> deterministic{
      "TRAIN.DETERMINISTIC",  "True", "MULTIGRID.SHORT_CYCLE", "True",
      "MULTIGRID.LONG_CYCLE", "True", "SOLVER.MAX_EPOCH",      "2"};
  const auto straight_tree = small_run_tree(straight.path(), deterministic);
  REQUIRE(train_quietly(straight_tree).completed);

  const auto resumed_tree = small_run_tree(resumed.path(), deterministic);
  trainer_options first;
  first.stop_after_epochs = 1;
  const auto stopped = train_quietly(resumed_tree, first);
  CHECK_FALSE(stopped.completed);
  const auto finished = train_quietly(resumed_tree);
  CHECK(finished.completed);
  CHECK(finished.epochs == 3);

  const auto difference =
      largest_difference(model_of_newest_checkpoint(straight.path(), straight_tree),
                         model_of_newest_checkpoint(resumed.path(), resumed_tree));
  INFO("largest difference at " << difference.where);
  CHECK(difference.largest == 0.0);
}

TEST_CASE(
    "Killed with SIGKILL mid-epoch, the run resumes from an intact checkpoint and completes") {
  temporary_directory directory;
  const auto output = directory.file("run");
  const auto config = write_config(directory, output);
  {
    background_process training(train_tool, {config, "SOLVER.MAX_EPOCH", "3"},
                                {"OMP_NUM_THREADS=1"});
    // Wait for the first checkpoint, then for an iteration of the second epoch.
    REQUIRE(wait_for_line(output + "/metrics.jsonl",
                          "\"type\":\"iteration\",\"epoch\":1,\"iteration\":2", 300));
    training.signal(SIGKILL);
    REQUIRE(training.wait(30));
    CHECK(training.result().exit_code == 128 + SIGKILL);
  }
  std::vector<std::string> skipped;
  const auto latest = checkpoint_directory(output + "/checkpoints").latest(&skipped);
  REQUIRE(latest.has_value());
  CHECK(skipped.empty());
  const auto resumed = run_process(train_tool, {config, "SOLVER.MAX_EPOCH", "3"});
  CHECK(resumed.exit_code == 0);
  CHECK(contains(resumed.out, "resuming from"));
  const auto metrics = read_metrics(output + "/metrics.jsonl");
  REQUIRE(metrics.epochs.size() == 3);
  CHECK(metrics.epochs.back().epoch == 2);
}

TEST_CASE(
    "SIGTERM mid-epoch writes a checkpoint at that iteration, and the next run continues there") {
  temporary_directory directory;
  const auto output = directory.file("run");
  const auto config = write_config(directory, output);
  background_process training(train_tool, {config, "SOLVER.MAX_EPOCH", "2"}, {"OMP_NUM_THREADS=1"});
  REQUIRE(wait_for_line(output + "/metrics.jsonl",
                        "\"type\":\"iteration\",\"epoch\":0,\"iteration\":3", 300));
  training.signal(SIGTERM);
  REQUIRE(training.wait(120));
  CHECK(training.result().exit_code == 128 + SIGTERM);
  const auto entries = checkpoint_directory(output + "/checkpoints").list();
  REQUIRE_FALSE(entries.empty());
  CHECK(entries.back().epoch == 0);
  CHECK(entries.back().iteration_in_epoch >= 4);
  const auto resumed = run_process(train_tool, {config, "SOLVER.MAX_EPOCH", "2"});
  CHECK(resumed.exit_code == 0);
  CHECK(contains(resumed.out,
                 "at epoch 0, iteration " + std::to_string(entries.back().iteration_in_epoch)));
}

TEST_CASE("Two Gloo processes on loopback equal one process on the combined batch") {
  temporary_directory single;
  temporary_directory pair;
  // One iteration over all 128 videos. With sync-BN over 2 (BN.NORM_TYPE) each process's 64
  // clips are normalised together with the other's, as one process's BN does over 128 (one
  // process cannot synchronise: plain BN); the gradients are averaged over the processes. (Longer
  // runs amplify rounding differences: BN over so few, so small feature maps is ill-conditioned.)
  const std::vector<std::string> common{
      "SOLVER.MAX_EPOCH",    "1", "TRAIN.BATCH_SIZE",    "128",  "BN.NORM_TYPE", "sync_batchnorm",
      "BN.NUM_SYNC_DEVICES", "2", "TRAIN.DETERMINISTIC", "True", "TEST.ENABLE",  "False"};
  auto single_arguments = common;
  single_arguments.insert(single_arguments.end(), {"NUM_GPUS", "1"});
  const auto single_config = write_config(single, single.file("run"));
  const auto one = run_process(train_tool, [&] {
    std::vector<std::string> arguments{single_config};
    arguments.insert(arguments.end(), single_arguments.begin(), single_arguments.end());
    return arguments;
  }());
  INFO(one.err);
  REQUIRE(one.exit_code == 0);

  const auto pair_config = write_config(pair, pair.file("run"));
  std::vector<std::string> pair_arguments{pair_config};
  pair_arguments.insert(pair_arguments.end(), common.begin(), common.end());
  pair_arguments.insert(pair_arguments.end(), {"NUM_GPUS", "2"});
  const std::string port = std::to_string(29000 + ::getpid() % 1000);
  background_process rank0(train_tool, pair_arguments,
                           {"RANK=0", "WORLD_SIZE=2", "LOCAL_RANK=0", "MASTER_ADDR=127.0.0.1",
                            "MASTER_PORT=" + port, "OMP_NUM_THREADS=1"});
  background_process rank1(train_tool, pair_arguments,
                           {"RANK=1", "WORLD_SIZE=2", "LOCAL_RANK=0", "MASTER_ADDR=127.0.0.1",
                            "MASTER_PORT=" + port, "OMP_NUM_THREADS=1"});
  REQUIRE(rank0.wait(600));
  REQUIRE(rank1.wait(60));
  INFO(rank0.result().err);
  INFO(rank1.result().err);
  REQUIRE(rank0.result().exit_code == 0);
  REQUIRE(rank1.result().exit_code == 0);

  const auto tree = small_run_tree(single.file("run"));
  const auto difference = largest_difference(model_of_newest_checkpoint(single.file("run"), tree),
                                             model_of_newest_checkpoint(pair.file("run"), tree));
  INFO("largest difference at " << difference.where);
  // Sync-BN takes the variance as E[x^2] - E[x]^2 in float32 (as PySlowFast's NaiveSyncBatchNorm),
  // plain BN in a more careful order: they agree to about 1e-4 of the values.
  CHECK(difference.largest < 1e-3);
}

TEST_CASE("When a peer dies, the other process stops with an error within the timeout") {
  temporary_directory directory;
  const auto config = write_config(directory, directory.file("run"));
  const std::vector<std::string> arguments{
      config, "NUM_GPUS", "2", "SOLVER.MAX_EPOCH", "5", "DIST_TIMEOUT_SECONDS", "20"};
  const std::string port = std::to_string(30000 + ::getpid() % 1000);
  background_process rank0(train_tool, arguments,
                           {"RANK=0", "WORLD_SIZE=2", "MASTER_ADDR=127.0.0.1",
                            "MASTER_PORT=" + port, "OMP_NUM_THREADS=1"});
  background_process rank1(train_tool, arguments,
                           {"RANK=1", "WORLD_SIZE=2", "MASTER_ADDR=127.0.0.1",
                            "MASTER_PORT=" + port, "OMP_NUM_THREADS=1"});
  REQUIRE(wait_for_line(directory.file("run/metrics.jsonl"), "\"iteration\":2", 300));
  rank1.signal(SIGKILL);
  const auto killed = std::chrono::steady_clock::now();
  REQUIRE(rank0.wait(60));
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - killed).count();
  CHECK(rank0.result().exit_code == 1);
  CHECK(seconds < 40);
  CHECK(contains(rank0.result().err, "rank"));
}

TEST_CASE("Bad configurations exit 2 naming the key and value") {
  temporary_directory directory;
  const auto config = write_config(directory, directory.file("run"));
  struct bad_case {
    std::vector<std::string> overrides;
    std::string expected;
  };
  const std::vector<bad_case> cases{
      {{"SOLVER.OPTIMIZING_METHOD", "adam"}, "SOLVER.OPTIMIZING_METHOD"},
      {{"TRAIN.BATCH_SIZE", "5", "NUM_GPUS", "2"}, "TRAIN.BATCH_SIZE = 5"},
      {{"SOLVER.STEPS", "[3]"}, "SOLVER.STEPS"},
      {{"MODEL.NUM_CLASSES", "2"}, "MODEL.NUM_CLASSES = 2"},
      {{"RESNET.DEPTH", "34"}, "RESNET.DEPTH"},
      {{"DATA.NUM_FRAMES", "7"}, "DATA.NUM_FRAMES"},
      {{"DEVICE", "tpu"}, "DEVICE"},
  };
  for (const auto& bad : cases) {
    CAPTURE(bad.expected);
    std::vector<std::string> arguments{config};
    arguments.insert(arguments.end(), bad.overrides.begin(), bad.overrides.end());
    const auto result = run_process(train_tool, arguments);
    CHECK(result.exit_code == 2);
    CHECK(contains(result.err, bad.expected));
  }
  CHECK(run_process(train_tool, {}).exit_code == 2);
  CHECK(run_process(train_tool, {"/nonexistent/config.yaml"}).exit_code == 2);
}

TEST_CASE("A non-finite loss stops the run naming the iteration and the shape") {
  temporary_directory directory;
  const auto config = write_config(directory, directory.file("run"));
  const auto result = run_process(train_tool, {config, "SOLVER.BASE_LR", "1e30"});
  CHECK(result.exit_code == 1);
  CHECK(contains(result.err, "non-finite loss at epoch 0"));
  CHECK(contains(result.err, "shape 4x8x32x32"));
}
