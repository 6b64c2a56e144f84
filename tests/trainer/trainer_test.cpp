#include "train/trainer.hpp"

#include <doctest/doctest.h>

#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <multigrid/plan.hpp>
#include <multigrid/schedule_warnings.hpp>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "config/schedule_config.hpp"
#include "model/model_state.hpp"
#include "model/slowfast.hpp"
#include "model/split_batch_norm.hpp"
#include "support/skip_test_case.hpp"
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
  checkpoint.load_model([&](const state_dict& state) { load_model_state(model, state); });
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

/// What a launcher gives process `rank` of a two-process job on loopback. Each test has its own
/// `port_base`, so that tests running side by side do not meet on one port.
std::vector<std::string> pair_environment(int rank, int port_base) {
  return {"RANK=" + std::to_string(rank),
          "WORLD_SIZE=2",
          "LOCAL_RANK=0",
          "MASTER_ADDR=127.0.0.1",
          "MASTER_PORT=" + std::to_string(port_base + ::getpid() % 1000),
          "OMP_NUM_THREADS=1"};
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

  // OUTPUT_DIR/stdout.log holds what the terminal showed, time-stamped, from the start.
  const auto log = read_whole_file(directory.file("stdout.log"));
  CHECK(contains(log, "training videos in 4 classes"));
  CHECK(contains(log, "threads: 1 for LibTorch's operators (OMP_NUM_THREADS)"));
  CHECK(contains(log, "training with config:"));
  CHECK(std::regex_search(log, std::regex(R"(\d\d:\d\d:\d\d epoch 20/20 done: )")));
  CHECK(std::regex_search(log, std::regex(R"(\d\d:\d\d:\d\d test after epoch 20: top-1 )")));
  CHECK_FALSE(contains(log, "top-5"));                 // four classes: always in the top five
  CHECK_FALSE(contains(log, "still on the plateau"));  // it left it before its LR dropped

  // TRAIN.ENABLE False tests the newest checkpoint alone: the same weights and views give the
  // same accuracy, and nothing is trained.
  auto test_tree = small_run_tree(directory.path(), {"TRAIN.ENABLE", "False"});
  const auto tested = train_quietly(test_tree);
  CHECK(tested.completed);
  REQUIRE(tested.test.has_value());
  CHECK(tested.test->top1 == outcome.test->top1);
  CHECK(tested.test->videos == outcome.test->videos);
  CHECK(read_metrics(directory.file("metrics.jsonl")).iterations.size() ==
        metrics.iterations.size());
  CHECK(
      contains(read_whole_file(directory.file("stdout.log")),
               "test of " + directory.path() + "/checkpoints/checkpoint_epoch_00020.ckpt: top-1"));

  // Two processes: rank 0 reads the checkpoint and sends the weights; each tests half the videos.
  const auto config = write_config(directory, directory.path());
  const std::vector<std::string> arguments{
      config, "TRAIN.ENABLE", "False",   "NUM_GPUS",   "2",        "TEST.BATCH_SIZE",
      "8",    "SOLVER.STEPS", "[0, 16]", "SOLVER.LRS", "[1, 0.1]", "SOLVER.MAX_EPOCH",
      "20"};
  background_process rank0(train_tool, arguments, pair_environment(0, 31000));
  background_process rank1(train_tool, arguments, pair_environment(1, 31000));
  REQUIRE(rank0.wait(600));
  REQUIRE(rank1.wait(60));
  INFO(rank0.result().err);
  INFO(rank1.result().err);
  CHECK(rank0.result().exit_code == 0);
  CHECK(rank1.result().exit_code == 0);
  const auto evaluations = read_metrics(directory.file("metrics.jsonl")).evaluations;
  REQUIRE_FALSE(evaluations.empty());
  CHECK(evaluations.back().split == "test");
  CHECK(evaluations.back().videos == outcome.test->videos);
  CHECK(evaluations.back().top1 == outcome.test->top1);
}

TEST_CASE("TRAIN.ENABLE False without weights to test exits 2 saying where it looked") {
  temporary_directory directory;
  const auto config = write_config(directory, directory.file("run"));
  const auto result = run_process(train_tool, {config, "TRAIN.ENABLE", "False"});
  CHECK(result.exit_code == 2);
  CHECK(contains(result.err, "no weights to test; set TEST.CHECKPOINT_FILE_PATH"));
  const auto missing = run_process(
      train_tool,
      {config, "TRAIN.ENABLE", "False", "TEST.CHECKPOINT_FILE_PATH", directory.file("none.ckpt")});
  CHECK(missing.exit_code == 2);
  CHECK(contains(missing.err,
                 "TEST.CHECKPOINT_FILE_PATH = " + directory.file("none.ckpt") + ": no such file"));
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

TEST_CASE("BN.SUB_BATCH_COMPUTATION: a run computes sub-batch BN the way it names") {
  temporary_directory by_default;
  temporary_directory batched;
  // The long cycle's first stage trains batches of 32 clips with BN in 8 splits of
  // MULTIGRID.BN_BASE_SIZE 4.
  const std::vector<std::string> multigrid{"MULTIGRID.LONG_CYCLE", "True", "TRAIN.DETERMINISTIC",
                                           "True"};
  const auto default_tree = small_run_tree(by_default.path(), multigrid);
  REQUIRE(train_quietly(default_tree).completed);
  CHECK(split_batch_norm_method_for(torch::kCPU) == split_batch_norm_method::in_place);

  auto overrides = multigrid;
  overrides.insert(overrides.end(), {"BN.SUB_BATCH_COMPUTATION", "batched"});
  REQUIRE(train_quietly(small_run_tree(batched.path(), overrides)).completed);
  CHECK(contains(read_whole_file(batched.file("stdout.log")), "BN.SUB_BATCH_COMPUTATION batched"));
  CHECK_FALSE(contains(read_whole_file(by_default.file("stdout.log")), "BN.SUB_BATCH_COMPUTATION"));
  // The run's choice ended with it.
  CHECK(split_batch_norm_method_for(torch::kCPU) == split_batch_norm_method::in_place);

  // The same weights and clips give the same loss, up to the order of the sums. Later steps are
  // not compared: at the coarse stages' LR this narrow network amplifies any rounding difference
  // (in_place against regrouped, whose forward passes agree to the last printed digit, differ by
  // 1 % within three steps); the model's tests hold the computations' gradients equal.
  const auto first = read_metrics(by_default.file("metrics.jsonl")).iterations.at(0);
  const auto first_batched = read_metrics(batched.file("metrics.jsonl")).iterations.at(0);
  CHECK(first.shape.per_process_batch == 32);
  CHECK(first_batched.shape.per_process_batch == 32);
  CHECK(first_batched.loss == doctest::Approx(first.loss).epsilon(1e-4));
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
  // What a kill during a checkpoint write leaves: a temporary named by a writer that is gone.
  const auto stale = output + "/checkpoints/checkpoint_epoch_00002.ckpt.tmp.2147483646";
  write_text_file(stale, "half a checkpoint");
  const auto resumed = run_process(train_tool, {config, "SOLVER.MAX_EPOCH", "3"});
  CHECK(resumed.exit_code == 0);
  CHECK(contains(resumed.out, "resuming from"));
  CHECK(contains(resumed.out, "removed 1 temporary file(s) of interrupted checkpoint writes"));
  CHECK_FALSE(std::filesystem::exists(stale));
  const auto metrics = read_metrics(output + "/metrics.jsonl");
  REQUIRE(metrics.epochs.size() == 3);
  CHECK(metrics.epochs.back().epoch == 2);
}

TEST_CASE(
    "SIGTERM mid-epoch writes a checkpoint at that iteration, and the next run continues there") {
  temporary_directory directory;
  const auto output = directory.file("run");
  const auto config = write_config(directory, output);
  const std::vector<std::string> run{config, "SOLVER.MAX_EPOCH", "2", "TRAIN.DETERMINISTIC",
                                     "True"};
  background_process training(train_tool, run, {"OMP_NUM_THREADS=1"});
  REQUIRE(wait_for_line(output + "/metrics.jsonl",
                        "\"type\":\"iteration\",\"epoch\":0,\"iteration\":3", 300));
  training.signal(SIGTERM);
  REQUIRE(training.wait(120));
  CHECK(training.result().exit_code == 128 + SIGTERM);
  const auto entries = checkpoint_directory(output + "/checkpoints").list();
  REQUIRE_FALSE(entries.empty());
  CHECK(entries.back().epoch == 0);
  CHECK(entries.back().iteration_in_epoch >= 4);
  const auto resumed = run_process(train_tool, run);
  CHECK(resumed.exit_code == 0);
  CHECK(contains(
      resumed.out,
      "after iteration " + std::to_string(entries.back().iteration_in_epoch) + " of epoch 1"));

  // The interrupted epoch's record is the one an uninterrupted run writes.
  auto straight_run = run;
  straight_run.insert(straight_run.end(), {"OUTPUT_DIR", directory.file("straight")});
  REQUIRE(run_process(train_tool, straight_run).exit_code == 0);
  const auto interrupted = read_metrics(output + "/metrics.jsonl");
  const auto straight = read_metrics(directory.file("straight") + "/metrics.jsonl");
  REQUIRE(interrupted.epochs.size() == 2);
  REQUIRE(straight.epochs.size() == 2);
  for (std::size_t epoch = 0; epoch < 2; ++epoch) {
    CAPTURE(epoch);
    CHECK(interrupted.epochs[epoch].loss ==
          doctest::Approx(straight.epochs[epoch].loss).epsilon(1e-9));
    CHECK(interrupted.epochs[epoch].step == straight.epochs[epoch].step);
  }
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
  background_process rank0(train_tool, pair_arguments, pair_environment(0, 29000));
  background_process rank1(train_tool, pair_arguments, pair_environment(1, 29000));
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
  background_process rank0(train_tool, arguments, pair_environment(0, 30000));
  background_process rank1(train_tool, arguments, pair_environment(1, 30000));
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
  // PySlowFast's spelling: --cfg CONFIG, then the overrides.
  const auto flagged = run_process(train_tool, {"--cfg", config, "MODEL.NUM_CLASSES", "2"});
  CHECK(flagged.exit_code == 2);
  CHECK(contains(flagged.err, "MODEL.NUM_CLASSES = 2"));
}

TEST_CASE("A non-finite loss stops the run naming the iteration and the shape") {
  temporary_directory directory;
  const auto config = write_config(directory, directory.file("run"));
  const auto result = run_process(train_tool, {config, "SOLVER.BASE_LR", "1e30"});
  CHECK(result.exit_code == 1);
  INFO(result.err);
  // Counted from 1, as the progress lines: the first step's loss is finite, the LR then blows up.
  CHECK(contains(result.err, "non-finite loss at epoch 1, iteration 2 of 32 (global 2)"));
  CHECK(contains(result.err, "shape 4x8x32x32"));
}

TEST_CASE("A run still at chance loss when its first LR stage ends is told so, then") {
  // An LR too small to learn anything keeps the loss at ln 4; the first LR stage is epoch 1.
  temporary_directory directory;
  const auto tree = small_run_tree(
      directory.path(), {"SOLVER.BASE_LR", "1e-7", "SOLVER.STEPS", "[0, 1]", "SOLVER.LRS",
                         "[1, 0.1]", "SOLVER.MAX_EPOCH", "2", "TRAIN.EVAL_PERIOD", "100"});
  const auto outcome = train_quietly(tree);
  REQUIRE(outcome.completed);
  const auto log = read_whole_file(directory.file("stdout.log"));
  INFO(log);
  CHECK(std::regex_search(
      log, std::regex(R"(warning: after epoch 1 of 2, where the first LR stage ends, the )"
                      R"(training loss is \d\.\d+, still on the plateau at chance \(0\.8 x )"
                      R"(ln 4 = 1\.11\))")));
  CHECK_FALSE(contains(log, "MULTIGRID.LONG_CYCLE False"));  // the standard schedule's advice
}

namespace {

/// The small dataset's annotation files with absolute paths, and every `every`-th training video
/// replaced by a file that is not a video.
std::string partly_broken_dataset(const temporary_directory& directory, int every) {
  const auto root = directory.file("partly_broken");
  std::filesystem::create_directories(root);
  for (const std::string split : {"train", "val", "test"}) {
    std::ifstream in(small_motion_dataset() + "/" + split + ".csv");
    std::ofstream out(root + "/" + split + ".csv");
    std::string path;
    std::string label;
    for (int line = 0; in >> path >> label; ++line) {
      if (split == "train" && line % every == 0) {
        path = root + "/not_a_video_" + std::to_string(line) + ".mp4";
        write_text_file(path, "these bytes are not a video\n");
      } else {
        path = small_motion_dataset() + "/" + path;
      }
      out << path << " " << label << "\n";
    }
  }
  return root;
}

}  // namespace

TEST_CASE("DATA.MAX_FAILURE_SHARE decides how many broken training videos a run tolerates") {
  temporary_directory directory;
  const auto data = partly_broken_dataset(directory, 4);  // a quarter of the training videos
  const auto config = write_config(directory, directory.file("run"));
  const std::vector<std::string> common{config, "DATA.PATH_TO_DATA_DIR", data, "SOLVER.MAX_EPOCH",
                                        "1"};
  auto with = [&](std::vector<std::string> extra) {
    extra.insert(extra.begin(), common.begin(), common.end());
    return extra;
  };
  const auto tolerant = run_process(train_tool, with({"DATA.MAX_FAILURE_SHARE", "0.5", "OUTPUT_DIR",
                                                      directory.file("tolerant")}));
  INFO(tolerant.err);
  CHECK(tolerant.exit_code == 0);
  CHECK(contains(tolerant.out, "broken video skipped: " + data + "/not_a_video_"));
  // Each of the 32 broken videos is named once, on a line of its own (after the log's time).
  std::istringstream lines(tolerant.out);
  const std::regex named_line(R"(^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d broken video skipped: .*)");
  std::size_t named = 0;
  for (std::string line; std::getline(lines, line);) {
    if (std::regex_match(line, named_line)) ++named;
  }
  CHECK(named == 32);
  const auto strict = run_process(train_tool, with({"OUTPUT_DIR", directory.file("strict")}));
  CHECK(strict.exit_code == 1);
  CHECK(contains(strict.err, "allowed share of 0.1"));
  CHECK(contains(strict.err, "DATA.MAX_FAILURE_SHARE"));
}

TEST_CASE(
    "A full disk during a checkpoint write stops the run naming the file, and the one "
    "before resumes") {
  // A small file system of its own for OUTPUT_DIR: a tmpfs in a private mount namespace, which
  // needs no privileges where user namespaces are allowed.
  if (run_process("/usr/bin/unshare", {"--mount", "--map-root-user", "true"}).exit_code != 0) {
    skip_test_case("this machine allows no private mount namespace (unshare --mount)");
    return;
  }
  temporary_directory directory;
  const auto config = write_config(directory, directory.file("unused"));
  const auto disk = directory.file("disk");
  const auto logs = directory.file("logs");
  std::filesystem::create_directories(disk);
  std::filesystem::create_directories(logs);
  // One epoch and its checkpoint; then the disk is filled to half a checkpoint short of the next
  // one; then the run is resumed (it must fail writing), and resumed again once space is freed.
  const std::string script = R"(
    set -u
    mount -t tmpfs -o size=64m tmpfs "$DISK" || exit 90
    run() { "$TOOL" "$CONFIG" OUTPUT_DIR "$DISK/run" SOLVER.MAX_EPOCH 3 "$@"; }
    run --stop-after-epochs 1 > "$LOGS/first.out" 2>&1; echo $? > "$LOGS/first.status"
    checkpoint=$(ls "$DISK"/run/checkpoints/*.ckpt | head -n 1)
    size=$(stat -c %s "$checkpoint")
    free=$(df --output=avail -B1 "$DISK" | tail -n 1)
    fallocate -l $((free - size / 2)) "$DISK/filler" || exit 91
    run > "$LOGS/full.out" 2> "$LOGS/full.err"; echo $? > "$LOGS/full.status"
    ls "$DISK/run/checkpoints" > "$LOGS/after_full.list"
    rm "$DISK/filler"
    run > "$LOGS/resumed.out" 2>&1; echo $? > "$LOGS/resumed.status"
    cp "$DISK/run/metrics.jsonl" "$LOGS/"
  )";
  const auto result =
      run_process("/usr/bin/env", {"DISK=" + disk, "LOGS=" + logs, "TOOL=" + train_tool,
                                   "CONFIG=" + config, "OMP_NUM_THREADS=1", "/usr/bin/unshare",
                                   "--mount", "--map-root-user", "sh", "-c", script});
  INFO(result.err);
  REQUIRE(result.exit_code == 0);
  auto text = [&](const std::string& name) { return read_whole_file(logs + "/" + name); };
  CHECK(text("first.status") == "0\n");
  // The failed write names its file and the cause, and leaves no temporary behind.
  CHECK(text("full.status") == "1\n");
  INFO(text("full.err"));
  CHECK(contains(text("full.err"), "checkpoint_epoch_00002.ckpt"));
  CHECK(contains(text("full.err"), "No space left on device"));
  CHECK(text("after_full.list") == "checkpoint_epoch_00001.ckpt\n");
  // With space again, the run resumes from the checkpoint before and completes.
  INFO(text("resumed.out"));
  CHECK(text("resumed.status") == "0\n");
  CHECK(contains(text("resumed.out"), "checkpoint_epoch_00001.ckpt after epoch 1"));
  CHECK(read_metrics(logs + "/metrics.jsonl").epochs.size() == 3);
}
