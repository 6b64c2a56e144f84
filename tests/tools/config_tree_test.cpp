#include "config/config_tree.hpp"

#include <doctest/doctest.h>

#include <string>

#include "config_error_support.hpp"
#include "support/run_process.hpp"

using multigrid::reference::config_error;
using multigrid::reference::config_tree;
using multigrid::reference::testing::contains;
using multigrid::reference::testing::error_of;

TEST_CASE("Dotted keys read nested sections, with defaults for missing keys") {
  const auto tree = config_tree::load_string(
      "SOLVER:\n  BASE_LR: 0.1\n  STEPS: [0, 94, 154]\nMULTIGRID:\n  LONG_CYCLE: True\n",
      "test.yaml");
  CHECK(tree.get_double("SOLVER.BASE_LR", 1) == 0.1);
  CHECK(tree.get_int_list("SOLVER.STEPS", {}) == std::vector<int>{0, 94, 154});
  CHECK(tree.get_bool("MULTIGRID.LONG_CYCLE", false));
  CHECK(tree.get_int("SOLVER.MAX_EPOCH", 300) == 300);
  CHECK(tree.get_string("OUTPUT_DIR", "./tmp") == "./tmp");
  CHECK_FALSE(tree.has("SOLVER.GAMMA"));
  CHECK(tree.has("SOLVER.BASE_LR"));
}

TEST_CASE("Overrides replace values, create sections, and parse YAML values") {
  auto tree = config_tree::load_string("SOLVER:\n  MAX_EPOCH: 239\n", "test.yaml");
  tree.apply_overrides({"SOLVER.MAX_EPOCH", "100", "DATA.TRAIN_JITTER_SCALES", "[200, 300]",
                        "MULTIGRID.SHORT_CYCLE", "True"});
  CHECK(tree.get_int("SOLVER.MAX_EPOCH", 0) == 100);
  CHECK(tree.get_int_list("DATA.TRAIN_JITTER_SCALES", {}) == std::vector<int>{200, 300});
  CHECK(tree.get_bool("MULTIGRID.SHORT_CYCLE", false));
  CHECK(tree.origin("SOLVER.MAX_EPOCH") == "command line");
  // The override did not disturb the file's other keys.
  CHECK(tree.unread_overrides().empty());
}

TEST_CASE("Unread overrides are reported, so that a misspelt key is noticed") {
  auto tree = config_tree::load_string("", "test.yaml");
  tree.apply_overrides({"SOLVER.MAX_EPOCHS", "100"});
  CHECK(tree.get_int("SOLVER.MAX_EPOCH", 7) == 7);
  CHECK(tree.unread_overrides() == std::vector<std::string>{"SOLVER.MAX_EPOCHS"});
}

TEST_CASE("A value of the wrong kind names the key, the value and the file's line") {
  const auto tree =
      config_tree::load_string("SOLVER:\n  BASE_LR: 0.1\n  MAX_EPOCH: lots\n", "run.yaml");
  const auto message = error_of([&] { tree.get_int("SOLVER.MAX_EPOCH", 0); });
  CHECK(contains(message, "run.yaml:3"));
  CHECK(contains(message, "SOLVER.MAX_EPOCH = lots"));
  CHECK(contains(message, "integer"));
  const auto list_message = error_of([&] { tree.get_int_list("SOLVER.BASE_LR", {}); });
  CHECK(contains(list_message, "SOLVER.BASE_LR = 0.1"));
  CHECK(contains(list_message, "list"));
}

TEST_CASE("A bad list element is named") {
  const auto tree = config_tree::load_string("SOLVER:\n  STEPS: [0, ten, 20]\n", "run.yaml");
  const auto message = error_of([&] { tree.get_int_list("SOLVER.STEPS", {}); });
  CHECK(contains(message, "`ten`"));
  CHECK(contains(message, "run.yaml:2"));
}

TEST_CASE("YAML syntax errors and unreadable files name the file") {
  CHECK(contains(error_of([] { config_tree::load_string("SOLVER: [1, 2\n", "broken.yaml"); }),
                 "broken.yaml:"));
  CHECK(contains(error_of([] { config_tree::load_string("- 1\n- 2\n", "list.yaml"); }),
                 "list.yaml:1: the top level must be a mapping"));
  CHECK(contains(error_of([] { config_tree::load_file("/nonexistent/config.yaml"); }),
                 "/nonexistent/config.yaml: cannot open"));
}

TEST_CASE("Bad overrides: odd count, bad key, unparsable value, value used as a section") {
  auto tree = config_tree::load_string("SOLVER:\n  BASE_LR: 0.1\n", "run.yaml");
  CHECK(contains(error_of([&] { tree.apply_overrides({"SOLVER.BASE_LR"}); }), "KEY VALUE pairs"));
  CHECK(contains(error_of([&] { tree.apply_overrides({"SOLVER..X", "1"}); }), "is not a KEY"));
  CHECK(contains(error_of([&] {
                   tree.apply_overrides({"SOLVER.STEPS", "[0, 1"});
                 }),
                 "cannot parse the value"));
  CHECK(contains(error_of([&] {
                   tree.apply_overrides({"SOLVER.BASE_LR.X", "1"});
                 }),
                 "BASE_LR is a value, not a section"));
}

TEST_CASE("JSON is accepted, being YAML") {
  const auto tree = config_tree::load_string(R"({"TRAIN": {"BATCH_SIZE": 32}})", "run.json");
  CHECK(tree.get_int("TRAIN.BATCH_SIZE", 0) == 32);
}

TEST_CASE("A key that is a list, a mapping, empty or nothing is refused naming the line") {
  // Found by fuzz_config_reader: the key check converted every key to text, and yaml-cpp's
  // conversion of such a key threw its own exception, which no tool expects; an empty key made
  // the search for its line read past an empty list (a crash).
  for (const std::string text :
       {R"({&TRAIN": {"BATCH_": 32}})", "[SOLVER]: 1\n", R"({"": {Z-EG3EG32}})",
        "SOLVER:\n  \"\": 1\n", "SOLVER:\n  BASE_LR: 0.1\n  ? {a: 1}\n  : 2\n"}) {
    CAPTURE(text);
    const auto tree = config_tree::load_string(text, "run.yaml");
    CHECK_THROWS_WITH_AS(tree.check_known_keys(), doctest::Contains("is not a key name"),
                         config_error);
  }
  const auto nested = config_tree::load_string("SOLVER:\n  BASE_LR: 0.1\n  [a]: 2\n", "run.yaml");
  CHECK_THROWS_WITH_AS(nested.check_known_keys(), "run.yaml:3: `[a]` in SOLVER is not a key name",
                       config_error);
}
