// Fuzz target: a configuration as multigrid-train and multigrid-schedule read it: the YAML file,
// the KEY VALUE overrides of the command line, the check that every key is known, and every
// part's reader with the checks between them (read_run_config, which includes the schedule's).
// Every input must end in a run configuration or a config_error; anything else (a crash, a
// sanitizer report, another exception) is a finding. So is an accepted configuration whose
// resolved YAML, as a checkpoint stores it, does not read back.
//
// Input: the file's text up to the first NUL byte; after it, NUL-separated override strings.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "tools/cli_support.hpp"
#include "train/run_config.hpp"

using namespace multigrid::reference;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string input(reinterpret_cast<const char*>(data), size);
  const auto end_of_file = input.find('\0');
  std::vector<std::string> overrides;
  if (end_of_file != std::string::npos) {
    std::size_t begin = end_of_file + 1;
    while (begin <= input.size()) {
      const auto end = std::min(input.find('\0', begin), input.size());
      overrides.push_back(input.substr(begin, end - begin));
      begin = end + 1;
    }
  }
  try {
    auto tree = config_tree::load_string(input.substr(0, end_of_file), "fuzz.yaml");
    tree.apply_overrides(overrides);
    tree.check_known_keys();
    const auto config = read_run_config(tree);
    resolved_config::parse(config.resolved.yaml(), "resolved config").tree().check_known_keys();
  } catch (const config_error&) {
  }
  return 0;
}
