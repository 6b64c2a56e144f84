#include <doctest/doctest.h>
#include <yaml-cpp/yaml.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "config/config_keys.hpp"
#include "config/config_tree.hpp"
#include "support/run_process.hpp"

using namespace multigrid::testing;

namespace {

const std::string tool = MULTIGRID_SCHEDULE_TOOL;
const std::string kinetics = std::string(MULTIGRID_SOURCE_DIR) +
                             "/reference/configs/Kinetics/SLOWFAST_8x8_R50_stepwise_multigrid.yaml";

process_result schedule(const std::vector<std::string>& arguments) {
  return run_process(tool, arguments);
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

}  // namespace

TEST_CASE("The table shows the Kinetics stages, STEPS and MAX_EPOCH") {
  const auto result = schedule({kinetics});
  CHECK(result.exit_code == 0);
  CHECK(
      contains(result.out, "[0, 73, 110, 142, 158, 205, 228, 248, 259, 291, 308, 322, 329, 343]"));
  CHECK(contains(result.out, "MAX_EPOCH  358"));
  CHECK(contains(result.out, "128@112 64@158 64@158"));
  CHECK(contains(result.out, "sub-BN x8"));
  // 0.292 of the standard schedule's steps (schedule_fit_test) of its 239 epochs.
  CHECK(contains(result.out,
                 "(3.42x fewer) for 1.50x the epochs, as many as the standard "
                 "schedule takes in 69.8 of its 239 epochs\n"));
}

TEST_CASE("--json prints the documented structure") {
  const auto result = schedule({kinetics, "--json", "--lr-at", "0,17,34,343.5"});
  REQUIRE(result.exit_code == 0);
  const auto json = nlohmann::json::parse(result.out);
  CHECK(json["max_epoch"] == 358);
  CHECK(json["steps"].size() == 14);
  CHECK(json["relative_lrs"][0].get<double>() == doctest::Approx(8));
  CHECK(json["first_lr_stage_end"] == 158);  // four shapes at the first LR, as STEPS shows
  REQUIRE(json["stages"].size() == 13);
  CHECK(json["stages"][12]["begin_epoch"] == 329);
  CHECK(json["stages"][12]["lr_stage"] == 3);
  REQUIRE(json["epochs"].size() == 358);
  const auto& first = json["epochs"][0];
  CHECK(first["stage"] == 0);
  CHECK(first["global_batch"] == 512);
  CHECK(first["per_gpu_batch"] == 64);
  CHECK(first["num_frames"] == 8);
  CHECK(first["crop"] == 158);
  CHECK(first["jitter"] == nlohmann::json::array({181, 320}));
  CHECK(first["sampling_rate"] == nlohmann::json::array({2, 8}));
  CHECK(first["bn"]["type"] == "sub");
  CHECK(first["bn"]["splits"] == 8);
  CHECK(first["short_cycle"].size() == 3);
  CHECK(first["short_cycle"][0]["per_gpu_batch"] == 128);
  CHECK(first["short_cycle"][0]["global_batch"] == 1024);
  CHECK(first["short_cycle"][0]["crop"] == 112);
  CHECK(first["short_cycle"][0]["jitter"] == nlohmann::json::array({128, 320}));
  CHECK(first["lr"].get<double>() == doctest::Approx(0.01));
  CHECK(json["epochs"][357]["bn"]["type"] == "plain");
  CHECK(json["epochs"][357]["lr"].get<double>() == doctest::Approx(0.0001));
  REQUIRE(json["lr_at"].size() == 4);
  CHECK(json["lr_at"][2]["epoch"].get<double>() == 34);
  CHECK(json["lr_at"][2]["lr"].get<double>() == doctest::Approx(0.8));
  CHECK(json["lr_at"][3]["lr"].get<double>() == doctest::Approx(0.0001));
  // The keys come in the documented order.
  const auto ordered = nlohmann::ordered_json::parse(result.out);
  std::vector<std::string> keys;
  for (const auto& item : ordered.items()) keys.push_back(item.key());
  CHECK(keys == std::vector<std::string>{"max_epoch", "steps", "relative_lrs", "first_lr_stage_end",
                                         "stages", "epochs", "lr_at"});
}

TEST_CASE(
    "Without the short cycle the JSON's short_cycle is null, and without the long cycle one "
    "stage") {
  const auto result = schedule(
      {kinetics, "--json", "MULTIGRID.SHORT_CYCLE", "False", "MULTIGRID.LONG_CYCLE", "False"});
  REQUIRE(result.exit_code == 0);
  const auto json = nlohmann::json::parse(result.out);
  CHECK(json["max_epoch"] == 239);
  CHECK(json["first_lr_stage_end"] == 94);
  REQUIRE(json["stages"].size() == 1);
  CHECK(json["stages"][0]["num_frames"] == 32);
  CHECK(json["stages"][0]["crop"] == 224);
  CHECK(json["epochs"][0]["short_cycle"].is_null());
}

TEST_CASE("Overrides apply as PySlowFast's opts do") {
  const auto result =
      schedule({kinetics, "--json", "SOLVER.MAX_EPOCH", "100", "SOLVER.STEPS", "[0, 40, 70]"});
  REQUIRE(result.exit_code == 0);
  const auto json = nlohmann::json::parse(result.out);
  CHECK(json["max_epoch"] == 150);
}

TEST_CASE("--svg writes a plot") {
  temporary_directory directory;
  const auto path = directory.file("schedule.svg");
  const auto result = schedule({kinetics, "--svg", path});
  CHECK(result.exit_code == 0);
  const auto svg = read_whole_file(path);
  CHECK(svg.rfind("<svg", 0) == 0);
  CHECK(contains(svg, "global batch"));
  CHECK(contains(svg, "learning rate"));
  CHECK(contains(svg, "</svg>"));
}

TEST_CASE("--svg names the schedule it plots, and a folder that does not exist stops the tool") {
  temporary_directory directory;
  const auto path = directory.file("standard.svg");
  const auto standard = schedule(
      {kinetics, "--svg", path, "MULTIGRID.LONG_CYCLE", "False", "MULTIGRID.SHORT_CYCLE", "False"});
  CHECK(standard.exit_code == 0);
  const auto svg = read_whole_file(path);
  CHECK(contains(svg, ": standard schedule"));
  CHECK_FALSE(contains(svg, "multigrid schedule"));
  const auto nowhere = schedule({kinetics, "--svg", "/no/such/folder/plot.svg"});
  CHECK(nowhere.exit_code == 2);
  CHECK(contains(nowhere.err, "--svg /no/such/folder/plot.svg: no folder /no/such/folder"));
  CHECK(nowhere.out.empty());
}

TEST_CASE("--cfg FILE is PySlowFast's spelling of CONFIG, and --lr-at asks for --json") {
  const auto positional = schedule({kinetics, "SOLVER.MAX_EPOCH", "300"});
  const auto flagged = schedule({"--cfg", kinetics, "SOLVER.MAX_EPOCH", "300"});
  CHECK(positional.exit_code == 0);
  CHECK(flagged.exit_code == 0);
  CHECK(flagged.out == positional.out);
  CHECK(schedule({"--cfg", kinetics, "--cfg", kinetics}).exit_code == 2);
  const auto lr_alone = schedule({kinetics, "--lr-at", "1,2"});
  CHECK(lr_alone.exit_code == 2);
  CHECK(contains(lr_alone.err, "--lr-at is part of --json's output: add --json"));
  CHECK(lr_alone.out.empty());
}

TEST_CASE("Bad values exit 2 naming the key and value") {
  const auto result = schedule({kinetics, "TRAIN.BATCH_SIZE", "60", "SOLVER.GAMMA", "-1"});
  CHECK(result.exit_code == 2);
  CHECK(contains(result.err, "TRAIN.BATCH_SIZE = 60"));
  CHECK(contains(result.err, "SOLVER.GAMMA = -1"));
  CHECK(result.out.empty());
}

TEST_CASE("Values of the wrong kind exit 2") {
  const auto result = schedule({kinetics, "SOLVER.STEPS", "many"});
  CHECK(result.exit_code == 2);
  CHECK(contains(result.err, "SOLVER.STEPS = many"));
}

TEST_CASE("Usage errors exit 2") {
  CHECK(schedule({}).exit_code == 2);
  CHECK(schedule({kinetics, "--bogus"}).exit_code == 2);
  CHECK(schedule({kinetics, "--svg"}).exit_code == 2);
  const auto no_value = schedule({kinetics, "--lr-at"});
  CHECK(no_value.exit_code == 2);
  CHECK(contains(no_value.err, "--lr-at needs a value"));
  CHECK(schedule({kinetics, "--lr-at", "3,x"}).exit_code == 2);
  CHECK(schedule({kinetics, "SOLVER.MAX_EPOCH"}).exit_code == 2);
  const auto missing = schedule({"/nonexistent.yaml"});
  CHECK(missing.exit_code == 2);
  CHECK(contains(missing.err, "/nonexistent.yaml"));
  CHECK(schedule({"--help"}).exit_code == 0);
}

TEST_CASE("A known key the tool does not read is warned about, and a misspelt one stops it") {
  const auto result = schedule({kinetics, "TRAIN.EVAL_PERIOD", "5"});
  CHECK(result.exit_code == 0);
  CHECK(contains(result.err, "TRAIN.EVAL_PERIOD was overridden but is not used"));
  const auto typo = schedule({kinetics, "SOLVER.MAX_EPOCHS", "100"});
  CHECK(typo.exit_code == 2);
  CHECK(contains(typo.err,
                 "command line: SOLVER.MAX_EPOCHS: unknown key; did you mean SOLVER.MAX_EPOCH?"));
}

namespace {

// Writes `text` to a file of its own in the build tree and returns its path.
std::string config_file(const std::string& name, const std::string& text) {
  const auto path = std::string(MULTIGRID_BINARY_DIR) + "/" + name;
  std::ofstream(path) << text;
  return path;
}

}  // namespace

TEST_CASE("A config that sets every key PySlowFast declares, at its default, loads") {
  // PySlowFast's configs set keys from every section (MVIT, AVA, CONTRASTIVE, TENSORBOARD...);
  // all of them must load. Each key as PySlowFast's defaults.py has it, written in nested sections.
  YAML::Node root(YAML::NodeType::Map);
  for (const auto& key : multigrid::reference::pyslowfast_keys()) {
    const auto parts = multigrid::reference::split_config_key(std::string(key.name));
    YAML::Node section;
    section.reset(root);
    for (std::size_t i = 0; i + 1 < parts.size(); ++i) {
      if (!section[parts[i]]) section[parts[i]] = YAML::Node(YAML::NodeType::Map);
      YAML::Node next;
      next.reset(section[parts[i]]);
      section.reset(next);
    }
    section[parts.back()] = YAML::Load(std::string(key.default_yaml));
  }
  // A schedule PySlowFast's own defaults do not make (its STEPS default is empty).
  root["SOLVER"]["LR_POLICY"] = "cosine";
  YAML::Emitter text;
  text << root;
  const auto path = config_file("every_pyslowfast_key.yaml", text.c_str());
  const auto result = schedule({path});
  INFO(result.err);
  CHECK(result.exit_code == 0);
  CHECK(contains(result.out, "MAX_EPOCH  300"));
}

TEST_CASE("Genuine problems of a config stop the tool with status 2, naming the place") {
  // What 7 of PySlowFast's 109 bundled configs have: a YAML syntax error, a key PySlowFast does
  // not declare, LRS and STEPS of different lengths, a batch the GPUs cannot share.
  const auto syntax =
      schedule({config_file("syntax.yaml", "MVIT:\n  DEPTH: 16\n DROPPATH_RATE: 0.3\n")});
  CHECK(syntax.exit_code == 2);
  CHECK(contains(syntax.err, "syntax.yaml:3"));
  const auto unknown = schedule({config_file("unknown.yaml", "PREFETCH:\n  NUM_LOADERS: 3\n")});
  CHECK(unknown.exit_code == 2);
  CHECK(contains(unknown.err, "unknown.yaml:1: PREFETCH: unknown key"));
  const auto lrs = schedule(
      {config_file("lrs.yaml",
                   "SOLVER:\n  LR_POLICY: steps_with_relative_lrs\n  STEPS: [0, 2, 4, 6, 8]\n"
                   "  LRS: [1, 0.1, 0.01, 0.001]\n  MAX_EPOCH: 10\n")});
  CHECK(lrs.exit_code == 2);
  CHECK(contains(lrs.err, "lrs.yaml:4: SOLVER.LRS"));
  const auto batch =
      schedule({config_file("batch.yaml", "NUM_GPUS: 8\nTRAIN:\n  BATCH_SIZE: 1\n")});
  CHECK(batch.exit_code == 2);
  CHECK(contains(batch.err, "TRAIN.BATCH_SIZE = 1: must be divisible by NUM_GPUS (8)"));
}
