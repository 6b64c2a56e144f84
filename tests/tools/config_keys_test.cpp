// The one declaration of keys (reference/config/keys.def): strict reading as yacs does it, no
// silent substitutions, PySlowFast's defaults, and the key table of docs/training.md.

#include "config/config_keys.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "config/config_tree.hpp"
#include "config/schedule_config.hpp"
#include "config_error_support.hpp"

using namespace multigrid::reference;
using multigrid::reference::testing::contains;
using multigrid::reference::testing::error_of;

namespace {

config_tree checked(const std::string& text, const std::vector<std::string>& overrides = {}) {
  auto tree = config_tree::load_string(text, "run.yaml");
  tree.apply_overrides(overrides);
  tree.check_known_keys();
  return tree;
}

// A YAML default, as a comparable value: numbers as numbers, everything else as its text.
std::string normalised(const YAML::Node& node) {
  if (node.IsNull()) return "null";
  if (node.IsScalar()) {
    try {
      std::ostringstream text;
      text << node.as<double>();
      return text.str();
    } catch (const YAML::Exception&) {
      return node.Scalar();
    }
  }
  std::string text = "[";
  for (const auto& item : node) text += normalised(item) + ",";
  return text + "]";
}

}  // namespace

TEST_CASE("A misspelt key stops the run, naming where it was written and the nearest key") {
  const auto in_file = error_of([] { checked("SOLVER:\n  BASE_LRR: 0.01\n"); });
  CHECK(contains(in_file, "run.yaml:2"));
  CHECK(contains(in_file, "SOLVER.BASE_LRR: unknown key"));
  CHECK(contains(in_file, "did you mean SOLVER.BASE_LR?"));
  const auto on_command_line = error_of([] { checked("", {"SOLVER.BASE_LRR", "0.2"}); });
  CHECK(contains(on_command_line, "command line"));
  CHECK(contains(on_command_line, "did you mean SOLVER.BASE_LR?"));
  CHECK(contains(error_of([] { checked("SOLVR:\n  BASE_LR: 0.01\n"); }),
                 "SOLVR: unknown key; did you mean SOLVER?"));
}

TEST_CASE("PySlowFast's keys are accepted even where this trainer does not use them") {
  const auto tree = checked(
      "TENSORBOARD:\n  ENABLE: True\n  MODEL_VIS:\n    ENABLE: False\nMVIT:\n  DEPTH: 16\n"
      "AUG:\n  COLOR_JITTER: None\nSOLVER:\n  BASE_LR: 0.1\n  CLIP_GRAD_L2NORM: 1.0\n");
  CHECK(tree.get(keys::solver_base_lr) == doctest::Approx(0.1));
}

TEST_CASE("No silent substitutions: nulls, a scalar for a section, a section for a value") {
  // A null written in the file or on the command line is an error, not the default; text that
  // YAML reads as nothing is the text.
  CHECK(checked("", {"DATA.PATH_LABEL_SEPARATOR", ","}).get(keys::data_path_label_separator) ==
        ",");
  const auto null_override = error_of([] {
    checked("", {"DATA.PATH_LABEL_SEPARATOR", "null"}).get(keys::data_path_label_separator);
  });
  CHECK(contains(null_override, "DATA.PATH_LABEL_SEPARATOR"));
  CHECK(contains(null_override, "has no value"));
  const auto empty_output = checked("", {"OUTPUT_DIR", "''"});
  CHECK(empty_output.get(keys::output_dir)
            .empty());  // written as an empty string: the reader says no
  const auto null_in_file = error_of([] { checked("OUTPUT_DIR:\n").get(keys::output_dir); });
  CHECK(contains(null_in_file, "run.yaml:1"));
  CHECK(contains(null_in_file, "has no value"));

  const auto scalar_section = error_of([] { checked("", {"SOLVER", "1"}); });
  CHECK(contains(scalar_section, "SOLVER = 1: is a section of keys"));
  const auto section_value = error_of([] { checked("SOLVER:\n  BASE_LR:\n    X: 1\n"); });
  CHECK(contains(section_value, "SOLVER.BASE_LR takes a value, not a section"));

  const auto folder = std::filesystem::temp_directory_path();
  CHECK(contains(error_of([&] { config_tree::load_file(folder.string()); }),
                 "is a folder, not a configuration file"));
}

TEST_CASE("A declared key reads its default, and a bad default-valued key says so") {
  const auto tree = checked("");
  CHECK(tree.get(keys::solver_base_lr) == doctest::Approx(0.1));
  CHECK(tree.get(keys::data_train_jitter_scales) == std::vector<int>{256, 320});
  CHECK(tree.get(keys::multigrid_long_cycle_factors).size() == 4);
  CHECK(tree.get(keys::bn_norm_type) == "batchnorm");
  CHECK_FALSE(tree.written(keys::solver_base_lr));
  const auto message = error_of([&] { tree.fail(keys::slowfast_alpha, "is wrong"); });
  CHECK(message == "SLOWFAST.ALPHA = 8 (default): is wrong");
}

TEST_CASE("Every declared key keeps PySlowFast's default, and ours are marked") {
  int shared = 0;
  for (const auto& declaration : declared_keys()) {
    CAPTURE(declaration.name);
    const auto* theirs = find_pyslowfast_key(declaration.name);
    CHECK(declaration.ours() == (theirs == nullptr));
    if (theirs == nullptr) continue;
    ++shared;
    CHECK(normalised(YAML::Load(std::string(declaration.default_yaml))) ==
          normalised(YAML::Load(std::string(theirs->default_yaml))));
  }
  CHECK(shared > 80);
  CHECK(pyslowfast_keys().size() == 339);
}

TEST_CASE("The key table of docs/training.md is the declaration, key by key") {
  std::ifstream file(std::string(MULTIGRID_SOURCE_DIR) + "/docs/training.md");
  REQUIRE(file.good());
  std::string line;
  std::vector<std::string> rows;
  bool in_section = false;
  while (std::getline(file, line)) {
    if (line.rfind("## ", 0) == 0) in_section = line == "## Configuration keys";
    if (in_section && line.rfind("| `", 0) == 0) rows.push_back(line);
  }
  std::string expected_table;
  for (const auto& declaration : declared_keys()) {
    const auto row = "| `" + std::string(declaration.name) + "` | " +
                     std::string(declaration.default_yaml) + " | " +
                     std::string(declaration.meaning) + " |";
    expected_table += row + "\n";
    CAPTURE(row);
    CHECK(std::find(rows.begin(), rows.end(), row) != rows.end());
  }
  INFO("the table, from the declaration:\n" << expected_table);
  CHECK(rows.size() == declared_keys().size());
}
