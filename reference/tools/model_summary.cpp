// multigrid-model-summary: the SlowFast model a PySlowFast config builds, its parameter count,
// and its multiply-adds per clip at every clip shape of the config's multigrid schedule.

#include "model/model_summary.hpp"

#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

#include "config/schedule_config.hpp"
#include "model/slowfast_options.hpp"
#include "tools/cli_support.hpp"

namespace {

using namespace multigrid::reference;

constexpr const char* usage =
    "usage: multigrid-model-summary [CONFIG | --cfg CONFIG] [KEY VALUE]...\n"
    "  CONFIG        PySlowFast YAML (or JSON) config; without it PySlowFast's defaults apply\n"
    "  KEY VALUE     overrides, e.g. RESNET.DEPTH 101 MODEL.NUM_CLASSES 174\n"
    "Reads MODEL.NUM_CLASSES, MODEL.DROPOUT_RATE, RESNET.*, SLOWFAST.*, BN.EPS, BN.MOMENTUM,\n"
    "DATA.NUM_FRAMES, DATA.TRAIN_CROP_SIZE and the MULTIGRID section. Multiply-adds (convolutions\n"
    "and classifier) are counted from the output shapes the model's layers produce at each\n"
    "clip shape of the schedule.\n";

int run(int argc, char** argv) {
  config_arguments arguments;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "-h" || arg == "--help") {
      std::fputs(usage, stdout);
      return 0;
    } else if (!arguments.take(arg, argc, argv, i)) {
      throw usage_error("unknown option " + arg);
    }
  }
  // CONFIG is optional: without --cfg, overrides come in pairs, so an odd count means the first
  // argument is the config file.
  const bool has_config = arguments.cfg_given() || arguments.positional().size() % 2 == 1;
  const auto tree = load_config(has_config ? arguments.config() : std::string(),
                                has_config ? arguments.overrides() : arguments.positional());
  const auto options = read_slowfast_options(tree);
  const auto schedule = read_schedule_config(tree);
  check_schedule_config(tree, schedule);
  warn_unread_overrides(tree, "multigrid-model-summary");

  SlowFast model(options);
  const auto summary = summarize_model(model, distinct_clip_sizes(schedule));
  std::cout << format_model_summary(summary, options);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  return run_tool("multigrid-model-summary", usage, [&] { return run(argc, argv); });
}
