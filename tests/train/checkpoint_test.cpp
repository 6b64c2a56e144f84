#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "child_process.hpp"
#include "temporary_folder.hpp"
#include "toy_model.hpp"
#include "train/checkpoint_directory.hpp"

using namespace multigrid::reference;
using namespace multigrid::reference::testing;
namespace fs = std::filesystem;

namespace {

// The LR of a step, as a plan would give it.
double lr_at(int step) {
  return 0.1 / (1 + step);
}

void train(toy_net& model, training_optimizer& optimizer, int first_step, int steps) {
  model->train();
  for (int step = first_step; step < first_step + steps; ++step) {
    // Inputs drawn from the global generator too, so that its state matters for the continuation.
    const auto batch = toy_batch_at(step);
    const auto inputs = batch.inputs + 0.1 * torch::randn(batch.inputs.sizes());
    optimizer.set_learning_rate(lr_at(step));
    optimizer.zero_grad();
    torch::nn::functional::cross_entropy(model->forward(inputs), batch.labels).backward();
    optimizer.step();
  }
}

checkpoint_state state_at(int step) {
  checkpoint_state state;
  state.position.epoch = step / 4;
  state.position.iteration_in_epoch = step % 4;
  state.position.global_iteration = step;
  state.position.train_samples = 32;
  state.position.wall_seconds = 12.5;
  // This process is rank 0 of two; rank 1's state is another one.
  auto own = capture_rng_state();
  own.loader_seed = 0xfedcba9876543210ULL;
  own.loader_state = "sampler offset 17";
  rng_state other;
  other.cpu = at::detail::createCPUGenerator(77).get_state();
  other.loader_seed = 3;
  other.loader_state = std::string("binary\0state", 12);
  state.rng = {own, other};
  epoch_metrics epoch;
  epoch.epoch = 0;
  epoch.loss = 1.25;
  state.history.epochs.push_back(epoch);
  state.config_yaml = "SOLVER:\n  BASE_LR: 0.1\n";
  return state;
}

std::string read_bytes(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(file), {});
}

void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary | std::ios::trunc)
      .write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

std::string error_opening(const std::string& path) {
  try {
    opened_checkpoint checkpoint(path);
  } catch (const checkpoint_error& error) {
    return error.what();
  }
  return "no error";
}

resolved_config config_of(const std::string& yaml) {
  return resolved_config(config_tree::load_string(yaml, "run.yaml"));
}

}  // namespace

TEST_CASE("a checkpoint round trip continues training identically") {
  temporary_folder folder("checkpoint");
  torch::manual_seed(11);
  toy_net model;
  training_optimizer optimizer(split_batch_norm_parameters(*model), sgd_settings{});
  train(model, optimizer, 0, 3);
  const auto path = folder.file("checkpoint.ckpt");
  write_checkpoint(path, state_at(3), module_checkpoint_parts(*model, optimizer));
  train(model, optimizer, 3, 4);
  const auto straight = flat_state(*model);

  // A fresh process would start from other weights and another random state.
  torch::manual_seed(99);
  toy_net resumed;
  training_optimizer resumed_optimizer(split_batch_norm_parameters(*resumed), sgd_settings{});
  CHECK_FALSE(torch::equal(flat_state(*resumed), straight));
  opened_checkpoint checkpoint(path);
  checkpoint.load(module_checkpoint_parts(*resumed, resumed_optimizer));
  const auto& state = checkpoint.state();
  REQUIRE(state.rng.size() == 2);
  CHECK(restore_rng_state(state.rng[0]).empty());
  CHECK(state.position.global_iteration == 3);
  CHECK(state.position.iteration_in_epoch == 3);
  CHECK(state.position.train_samples == 32);
  CHECK(state.position.wall_seconds == 12.5);
  CHECK(state.rng[0].loader_seed == 0xfedcba9876543210ULL);
  CHECK(state.rng[0].loader_state == "sampler offset 17");
  CHECK(state.rng[1].loader_seed == 3);
  CHECK(state.rng[1].loader_state == std::string("binary\0state", 12));
  CHECK(torch::equal(state.rng[1].cpu, at::detail::createCPUGenerator(77).get_state()));
  CHECK(state.config_yaml == "SOLVER:\n  BASE_LR: 0.1\n");
  REQUIRE(state.history.epochs.size() == 1);
  CHECK(state.history.epochs[0].loss == 1.25);
  train(resumed, resumed_optimizer, static_cast<int>(state.position.global_iteration), 4);
  CHECK(torch::equal(flat_state(*resumed), straight));
}

TEST_CASE("truncated, corrupt and foreign files are refused with the file named") {
  temporary_folder folder("checkpoint-damaged");
  torch::manual_seed(12);
  toy_net model;
  training_optimizer optimizer(split_batch_norm_parameters(*model), sgd_settings{});
  const auto good = folder.file("good.ckpt");
  write_checkpoint(good, state_at(0), module_checkpoint_parts(*model, optimizer));
  const auto bytes = read_bytes(good);
  REQUIRE(bytes.size() > 1000);
  CHECK_NOTHROW(verify_checkpoint_file(good));

  const auto damaged = folder.file("damaged.ckpt");
  for (std::size_t keep :
       {std::size_t{0}, std::size_t{10}, std::size_t{64}, bytes.size() / 2, bytes.size() - 1}) {
    CAPTURE(keep);
    write_bytes(damaged, bytes.substr(0, keep));
    const auto message = error_opening(damaged);
    CHECK(message.rfind(damaged + ": ", 0) == 0);
    CHECK(message.find("truncated") != std::string::npos);
  }
  auto flipped = bytes;
  flipped[bytes.size() / 2] ^= 0x10;
  write_bytes(damaged, flipped);
  CHECK(error_opening(damaged) == damaged +
                                      ": corrupt checkpoint: its checksum does not match its "
                                      "content (changed or truncated)");
  write_bytes(damaged, std::string(200, 'x'));
  CHECK(error_opening(damaged).rfind(damaged + ": not a multigrid checkpoint", 0) == 0);
  CHECK(error_opening(folder.file("missing.ckpt")).find("missing.ckpt: cannot open") !=
        std::string::npos);
  // A valid container around something that is not a training checkpoint.
  write_checkpoint_file(damaged, {}, {{"weights", torch::ones({3})}});
  CHECK(error_opening(damaged).find("not a multigrid training checkpoint") != std::string::npos);
}

TEST_CASE("a model that does not match the checkpoint is an error naming the file") {
  temporary_folder folder("checkpoint-mismatch");
  // Saved without BatchNorm, loaded into a model with one: its parameters are missing.
  toy_net model(/*with_batch_norm=*/false);
  training_optimizer optimizer(split_batch_norm_parameters(*model), sgd_settings{});
  const auto path = folder.file("checkpoint.ckpt");
  write_checkpoint(path, state_at(0), module_checkpoint_parts(*model, optimizer));
  toy_net other;
  training_optimizer other_optimizer(split_batch_norm_parameters(*other), sgd_settings{});
  opened_checkpoint checkpoint(path);
  CHECK_THROWS_WITH_AS(checkpoint.load(module_checkpoint_parts(*other, other_optimizer)),
                       doctest::Contains((path + ": cannot load the model").c_str()),
                       checkpoint_error);
}

TEST_CASE("a failed write leaves the previous checkpoint, and no temporary file") {
  temporary_folder folder("checkpoint-failed-write");
  checkpoint_directory directory(folder.file("checkpoints"));
  toy_net model;
  training_optimizer optimizer(split_batch_norm_parameters(*model), sgd_settings{});
  auto state = state_at(4);  // end of epoch 1
  const auto first = directory.save(state, module_checkpoint_parts(*model, optimizer), 2, 10);
  CHECK(fs::path(first).filename() == "checkpoint_epoch_00001.ckpt");

  auto failing = module_checkpoint_parts(*model, optimizer);
  failing.save_model = []() -> state_dict { throw std::runtime_error("disk on fire"); };
  state.position = {2, 0, 8, 32, 20};
  CHECK_THROWS_WITH_AS(directory.save(state, failing, 2, 10), doctest::Contains("disk on fire"),
                       checkpoint_error);
  // A file that cannot be written (its path is a folder) fails after streaming began.
  fs::create_directories(directory.path_for(state.position));
  CHECK_THROWS_AS(directory.save(state, module_checkpoint_parts(*model, optimizer), 2, 10),
                  checkpoint_error);
  fs::remove(directory.path_for(state.position));
  CHECK(directory.latest() == first);
  std::size_t files = 0;
  for (const auto& item : fs::directory_iterator(directory.folder())) {
    ++files;
    CHECK(item.path().string() == first);
  }
  CHECK(files == 1);
}

TEST_CASE(
    "the newest checkpoint that verifies is the one to resume from, and old ones are pruned") {
  temporary_folder folder("checkpoint-directory");
  checkpoint_directory directory(folder.file("checkpoints"));
  CHECK_FALSE(directory.latest().has_value());
  toy_net model;
  training_optimizer optimizer(split_batch_norm_parameters(*model), sgd_settings{});
  const auto parts = module_checkpoint_parts(*model, optimizer);
  auto state = state_at(0);
  // Epochs 1..5 (keep the last 2 and every 2nd epoch), then a stop 3 iterations into epoch 6.
  for (int epoch = 1; epoch <= 5; ++epoch) {
    state.position = {epoch, 0, epoch * 4, 32, 0};
    directory.save(state, parts, 2, 2);
  }
  state.position = {5, 3, 23, 32, 0};
  const auto interrupted = directory.save(state, parts, 2, 2);
  CHECK(fs::path(interrupted).filename() == "checkpoint_epoch_00005_iter_000003.ckpt");
  std::vector<std::string> names;
  for (const auto& entry : directory.list())
    names.push_back(fs::path(entry.path).filename().string());
  CHECK(names == std::vector<std::string>{
                     "checkpoint_epoch_00002.ckpt", "checkpoint_epoch_00004.ckpt",
                     "checkpoint_epoch_00005.ckpt", "checkpoint_epoch_00005_iter_000003.ckpt"});
  CHECK(directory.latest() == interrupted);

  // The newest is damaged: resume from the one before, saying why.
  auto bytes = read_bytes(interrupted);
  write_bytes(interrupted, bytes.substr(0, bytes.size() - 100));
  std::vector<std::string> skipped;
  CHECK(directory.latest(&skipped) == directory.path_for({5, 0, 20, 32, 0}));
  REQUIRE(skipped.size() == 1);
  CHECK(skipped[0].find(interrupted + ": truncated") == 0);
}

TEST_CASE("a checkpoint made with another config is refused, naming the key") {
  temporary_folder folder("checkpoint-config");
  toy_net model;
  training_optimizer optimizer(split_batch_norm_parameters(*model), sgd_settings{});
  auto state = state_at(0);
  const std::string yaml =
      "SOLVER:\n  BASE_LR: 0.1\n  MOMENTUM: 0.9\nMODEL:\n  NUM_CLASSES: 400\nOUTPUT_DIR: a\n"
      "DATA_LOADER:\n  NUM_WORKERS: 8\n";
  state.config_yaml = config_of(yaml).yaml();
  const auto path = folder.file("checkpoint.ckpt");
  write_checkpoint(path, state, module_checkpoint_parts(*model, optimizer));
  opened_checkpoint checkpoint(path);

  // Where the output goes and how many loader threads run may change.
  CHECK_NOTHROW(check_resume_compatible(
      checkpoint,
      config_of(
          "SOLVER:\n  BASE_LR: 0.1\n  MOMENTUM: 0.9\nMODEL:\n  NUM_CLASSES: 400\nOUTPUT_DIR: b\n"
          "DATA_LOADER:\n  NUM_WORKERS: 2\n"),
      32));
  CHECK_THROWS_WITH_AS(
      check_resume_compatible(checkpoint,
                              config_of("SOLVER:\n  BASE_LR: 0.2\n  MOMENTUM: 0.9\n"
                                        "MODEL:\n  NUM_CLASSES: 400\n"),
                              32),
      doctest::Contains(
          ("SOLVER.BASE_LR = 0.2: the checkpoint " + path + " was made with SOLVER.BASE_LR = 0.1")
              .c_str()),
      config_error);
  CHECK_THROWS_WITH_AS(check_resume_compatible(
                           checkpoint, config_of("SOLVER:\n  BASE_LR: 0.1\n  MOMENTUM: 0.9\n"), 32),
                       doctest::Contains("MODEL.NUM_CLASSES = (absent)"), config_error);
  CHECK_THROWS_WITH_AS(check_resume_compatible(checkpoint, config_of(yaml), 64),
                       doctest::Contains("the training set has 64 clips"), config_error);
}

TEST_CASE("a writer killed mid-write leaves the previous checkpoint readable") {
  temporary_folder folder("checkpoint-killed");
  checkpoint_directory directory(folder.file("checkpoints"));
  toy_net model;
  training_optimizer optimizer(split_batch_norm_parameters(*model), sgd_settings{});
  auto state = state_at(0);
  state.position = {1, 0, 4, 32, 0};
  const auto previous = directory.save(state, module_checkpoint_parts(*model, optimizer), 2, 10);

  // The helper writes a 64 MB checkpoint at epoch 2 into the same folder, in a process the
  // kernel kills (SIGXFSZ) when a file passes 8 MB: a writer dead mid-write, without a race.
  child_process writer({TRAIN_TEST_HELPER, "checkpoint_writer", directory.folder(), "64", "8"}, {},
                       folder.file("writer.log"));
  const auto status = writer.wait_for(std::chrono::seconds(120));
  INFO(writer.output());
  REQUIRE(status.has_value());
  CHECK(*status == 128 + SIGXFSZ);
  CHECK(writer.output().find("writing") != std::string::npos);
  CHECK(writer.output().find("written") == std::string::npos);
  const auto temporary =
      directory.path_for({2, 0, 200, 0, 0}) + ".tmp." + std::to_string(writer.pid());
  REQUIRE(fs::exists(temporary));
  CHECK(fs::file_size(temporary) <= (std::uintmax_t{8} << 20));

  // The torn temporary is no checkpoint; the previous one is still the latest and loads.
  CHECK(directory.list().size() == 1);
  CHECK(directory.latest() == previous);
  opened_checkpoint checkpoint(previous);
  CHECK(checkpoint.state().position.epoch == 1);
  // A write still in progress (this process's) is left alone; the dead writer's file goes.
  const auto running = directory.path_for({3, 0, 300, 0, 0}) + ".tmp." + std::to_string(::getpid());
  std::ofstream(running) << "being written";
  CHECK(directory.remove_stale_temporaries() == std::vector<std::string>{temporary});
  CHECK_FALSE(fs::exists(temporary));
  CHECK(fs::exists(running));
}

TEST_CASE("random states survive their byte form, and damaged bytes are refused") {
  auto state = capture_rng_state();
  state.loader_seed = 42;
  state.loader_state = "offset 5";
  const auto bytes = rng_state_to_bytes(state);
  const auto again = rng_state_from_bytes(bytes);
  CHECK(torch::equal(again.cpu, state.cpu));
  CHECK(again.cuda.size() == state.cuda.size());
  CHECK(again.loader_seed == 42);
  CHECK(again.loader_state == "offset 5");
  CHECK_THROWS_AS(rng_state_from_bytes(bytes.substr(0, bytes.size() - 1)), std::runtime_error);
  CHECK_THROWS_AS(rng_state_from_bytes(bytes + "x"), std::runtime_error);
  // Restoring rewinds the generator: the same numbers come out again.
  const auto first = torch::rand({4});
  restore_rng_state(again);
  CHECK(torch::equal(torch::rand({4}), first));
}
